/**
 * CSV and TSV records by RFC 4180: a field in double quotes may hold the delimiter, line breaks
 * and "" for a quote; records end in CRLF or LF. Line numbers are kept for every field so errors
 * can point at the physical line a value starts on.
 */
import { Result } from "effect"

export interface DelimitedOptions {
  readonly delimiter: "," | "\t"
  /** "none": quotes are ordinary characters, for TSV files written without quoting (GoEmotions'). */
  readonly quoting: "rfc4180" | "none"
}

export interface DelimitedRecord {
  /** The physical line the record starts on, 1-based. */
  readonly line: number
  readonly fields: ReadonlyArray<string>
  readonly fieldLines: ReadonlyArray<number>
  /**
   * The first field with characters after its closing quote (`"ab"c`). RFC 4180 forbids it; the
   * field keeps them (as Python's csv does) and the row is reported as badly quoted.
   */
  readonly badQuoteField?: number
}

/** A file that cannot be split into records at all: no row can be blamed and skipped. */
export interface DelimitedProblem {
  readonly line: number
  readonly problem: string
}

const QUOTE = 0x22
const LF = 0x0a
const CR = 0x0d

const countLineBreaks = (text: string, from: number, to: number): number => {
  let count = 0
  for (let at = text.indexOf("\n", from); at !== -1 && at < to; at = text.indexOf("\n", at + 1)) count++
  return count
}

/** Where an unquoted field ends: at the delimiter, at LF, at CRLF (a lone CR is data), or at the end. */
const fieldEnd = (text: string, from: number, delimiter: number): number => {
  for (let i = from; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code === delimiter || code === LF || (code === CR && text.charCodeAt(i + 1) === LF)) return i
  }
  return text.length
}

/**
 * All records, header included. Wholly empty lines are not records (a final newline does not make
 * one, and neither does a blank line between rows, which RFC 4180 leaves undefined).
 */
export const parseDelimited = (
  text: string,
  options: DelimitedOptions
): Result.Result<Array<DelimitedRecord>, DelimitedProblem> => {
  const delimiter = options.delimiter.charCodeAt(0)
  const quoting = options.quoting === "rfc4180"
  const records: Array<DelimitedRecord> = []
  let i = 0
  let line = 1
  while (i < text.length) {
    const recordLine = line
    const fields: Array<string> = []
    const fieldLines: Array<number> = []
    let badQuoteField: number | undefined
    let firstFieldQuoted = false
    for (;;) {
      fieldLines.push(line)
      let value: string
      if (quoting && text.charCodeAt(i) === QUOTE) {
        if (fields.length === 0) firstFieldQuoted = true
        const opened = i
        const pieces: Array<string> = []
        let from = i + 1
        for (;;) {
          const close = text.indexOf('"', from)
          if (close === -1) return Result.fail({ line, problem: "a quoted field opened on this line is never closed" })
          pieces.push(text.slice(from, close))
          if (text.charCodeAt(close + 1) === QUOTE) {
            pieces.push('"')
            from = close + 2
            continue
          }
          i = close + 1
          break
        }
        line += countLineBreaks(text, opened, i)
        value = pieces.join("")
        const next = text.charCodeAt(i)
        const atBoundary =
          i >= text.length || next === delimiter || next === LF || (next === CR && text.charCodeAt(i + 1) === LF)
        if (!atBoundary) {
          badQuoteField ??= fields.length
          const end = fieldEnd(text, i, delimiter)
          value += text.slice(i, end)
          i = end
        }
      } else {
        const end = fieldEnd(text, i, delimiter)
        value = text.slice(i, end)
        i = end
      }
      fields.push(value)
      if (i >= text.length) break
      const code = text.charCodeAt(i)
      if (code === delimiter) {
        i++
        continue
      }
      i += code === CR ? 2 : 1
      line++
      break
    }
    const blankLine = fields.length === 1 && fields[0] === "" && !firstFieldQuoted
    if (blankLine) continue
    records.push(
      badQuoteField === undefined ? { line: recordLine, fields, fieldLines } : { line: recordLine, fields, fieldLines, badQuoteField }
    )
  }
  return Result.succeed(records)
}
