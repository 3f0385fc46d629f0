/**
 * Valence–arousal rows from a CSV, TSV or JSONL file: the part every VA format shares. A format
 * (EmoBank, the Facebook posts, a generic file) only says which columns hold what and the scale.
 *
 * Bad rows are errors, or, with `skipBadRows`, skipped and counted by reason; problems with the
 * file as a whole (unreadable, empty, header only, a required column missing or named twice, an
 * unclosed quote) are errors either way.
 */
import { Effect, Result } from "effect"
import { problemText } from "../../core/errors.ts"
import { DataError, quoteValue } from "./data-error.ts"
import { parseDelimited } from "./delimited.ts"
import { invalidBytesIn, readSourceText } from "./read-text.ts"
import { noSkips, normaliseLabel, type Scale, type SkipReason, type Split, type VaCorpus, type VaExample, type VaFormat } from "./types.ts"

export interface VaColumns {
  readonly text: string
  /** Averaged when there are several (one per annotator, as in the Facebook posts). */
  readonly valence: ReadonlyArray<string>
  readonly arousal: ReadonlyArray<string>
  readonly split?: string
  /** Whether every row must name its split (EmoBank) or may leave it empty. */
  readonly splitRequired?: boolean
}

export interface VaTableSpec {
  readonly format: VaFormat
  readonly layout: "csv" | "tsv" | "jsonl"
  readonly quoting: "rfc4180" | "none"
  readonly columns: VaColumns
  readonly scale: Scale
  readonly skipBadRows: boolean
}

interface Cell {
  readonly value: unknown
  readonly line: number
}

/** One data row: its cells by column name, and any problem found while splitting it. */
interface TableRow {
  readonly line: number
  readonly cell: (column: string) => Cell | undefined
  readonly problem?: RowProblem
}

interface RowProblem {
  readonly reason: SkipReason
  readonly line: number
  readonly field: string
  readonly problem: string
}

const SPLIT_NAMES: Readonly<Record<string, Split>> = {
  train: "train",
  dev: "dev",
  validation: "dev",
  valid: "dev",
  val: "dev",
  test: "test"
}

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/
const NON_FINITE = /^[+-]?(?:nan|inf|infinity)$/i

const requiredColumns = (columns: VaColumns): Array<string> => [
  columns.text,
  ...columns.valence,
  ...columns.arousal,
  ...(columns.split === undefined ? [] : [columns.split])
]

const formatScale = (scale: Scale) => `${scale.min}–${scale.max}`

/** A label on the nominal scale, or why the cell is not one. */
const parseLabel = (column: string, cell: Cell, scale: Scale): number | RowProblem => {
  const bad = (reason: SkipReason, problem: string): RowProblem => ({ reason, line: cell.line, field: column, problem })
  let value: number
  if (typeof cell.value === "number") {
    // JSON.parse turns 1e999 into Infinity.
    if (!Number.isFinite(cell.value)) return bad("notANumber", `not a finite number (${cell.value})`)
    value = cell.value
  } else if (typeof cell.value === "string") {
    const trimmed = cell.value.trim()
    if (trimmed === "") return bad("notANumber", "no value")
    if (NON_FINITE.test(trimmed)) return bad("notANumber", `not a finite number (${quoteValue(trimmed)})`)
    if (!DECIMAL.test(trimmed)) return bad("notANumber", `not a number (${quoteValue(trimmed)})`)
    value = Number(trimmed)
    if (!Number.isFinite(value)) return bad("notANumber", `not a finite number (${quoteValue(trimmed)})`)
  } else {
    return bad("wrongType", `expected a number, got ${JSON.stringify(cell.value)}`)
  }
  if (value < scale.min || value > scale.max) return bad("outOfScale", `${value} is outside the scale ${formatScale(scale)}`)
  return value
}

const averageLabel = (row: TableRow, columns: ReadonlyArray<string>, scale: Scale): number | RowProblem => {
  let sum = 0
  for (const column of columns) {
    const cell = row.cell(column)
    if (cell === undefined) return { reason: "missingField", line: row.line, field: column, problem: "missing" }
    const value = parseLabel(column, cell, scale)
    if (typeof value !== "number") return value
    sum += value
  }
  return sum / columns.length
}

const toExample = (row: TableRow, spec: VaTableSpec): VaExample | RowProblem => {
  if (row.problem !== undefined) return row.problem
  const { columns, scale } = spec
  const textCell = row.cell(columns.text)
  if (textCell === undefined) return { reason: "missingField", line: row.line, field: columns.text, problem: "missing" }
  if (typeof textCell.value !== "string") {
    return { reason: "wrongType", line: textCell.line, field: columns.text, problem: `expected a string, got ${JSON.stringify(textCell.value)}` }
  }
  if (textCell.value.trim() === "") return { reason: "emptyText", line: textCell.line, field: columns.text, problem: "empty text" }
  const valence = averageLabel(row, columns.valence, scale)
  if (typeof valence !== "number") return valence
  const arousal = averageLabel(row, columns.arousal, scale)
  if (typeof arousal !== "number") return arousal
  const example = { text: textCell.value, valence: normaliseLabel(valence, scale), arousal: normaliseLabel(arousal, scale) }
  if (columns.split === undefined) return example
  const splitCell = row.cell(columns.split)
  if (splitCell === undefined) return { reason: "missingField", line: row.line, field: columns.split, problem: "missing" }
  if (typeof splitCell.value !== "string") {
    return { reason: "wrongType", line: splitCell.line, field: columns.split, problem: `expected a string, got ${JSON.stringify(splitCell.value)}` }
  }
  const name = splitCell.value.trim().toLowerCase()
  if (name === "" && columns.splitRequired !== true) return example
  const split = SPLIT_NAMES[name]
  if (split === undefined) {
    const problem = `not a split (${quoteValue(splitCell.value)}; expected train, dev or test)`
    return { reason: "badSplit", line: splitCell.line, field: columns.split, problem }
  }
  return { ...example, split }
}

const invalidUtf8Problem = (line: number, field: string, bytes: string): RowProblem => ({
  reason: "invalidUtf8",
  line,
  field,
  problem: `invalid UTF-8 (bytes ${bytes})`
})

const delimitedRows = (file: string, text: string, spec: VaTableSpec): Result.Result<Array<TableRow>, DataError> => {
  const parsed = parseDelimited(text, { delimiter: spec.layout === "tsv" ? "\t" : ",", quoting: spec.quoting })
  if (Result.isFailure(parsed)) return Result.fail(new DataError({ file, line: parsed.failure.line, field: "", problem: parsed.failure.problem }))
  const [header, ...records] = parsed.success
  const fail = (line: number, field: string, problem: string) => Result.fail(new DataError({ file, line, field, problem }))
  if (header === undefined) return fail(0, "", "empty file")
  const columnNames = header.fields
  if (header.badQuoteField !== undefined) return fail(header.line, columnNames[header.badQuoteField] ?? "", "text after the closing quote in the header")
  const positions = new Map<string, number>()
  for (const [position, name] of columnNames.entries()) {
    const bytes = invalidBytesIn(name)
    if (bytes !== undefined) return fail(header.line, "", `invalid UTF-8 in the header (bytes ${bytes})`)
    const earlier = positions.get(name)
    if (earlier !== undefined && name !== "") {
      return fail(header.line, name, `named twice in the header (columns ${earlier + 1} and ${position + 1})`)
    }
    positions.set(name, position)
  }
  for (const column of requiredColumns(spec.columns)) {
    if (!positions.has(column)) {
      const shown = columnNames.slice(0, 12).map((name) => quoteValue(name, 24)).join(", ")
      return fail(header.line, column, `not in the header (columns: ${shown}${columnNames.length > 12 ? ", …" : ""})`)
    }
  }
  if (records.length === 0) return fail(header.line, "", "only a header, no rows")
  return Result.succeed(
    records.map((record): TableRow => {
      const cell = (column: string): Cell | undefined => {
        const position = positions.get(column)
        if (position === undefined || position >= record.fields.length) return undefined
        return { value: record.fields[position], line: record.fieldLines[position] ?? record.line }
      }
      const problem = ((): RowProblem | undefined => {
        if (record.badQuoteField !== undefined) {
          return {
            reason: "badQuoting",
            line: record.fieldLines[record.badQuoteField] ?? record.line,
            field: columnNames[record.badQuoteField] ?? `column ${record.badQuoteField + 1}`,
            problem: "text after the closing quote"
          }
        }
        if (record.fields.length < columnNames.length) {
          return {
            reason: "missingField",
            line: record.line,
            field: columnNames[record.fields.length] ?? "",
            problem: `missing (the row has ${record.fields.length} fields, the header ${columnNames.length})`
          }
        }
        if (record.fields.length > columnNames.length) {
          return {
            reason: "extraFields",
            line: record.line,
            field: `column ${columnNames.length + 1}`,
            problem: `not in the header (the row has ${record.fields.length} fields, the header ${columnNames.length})`
          }
        }
        for (const [position, value] of record.fields.entries()) {
          const bytes = invalidBytesIn(value)
          if (bytes !== undefined) return invalidUtf8Problem(record.fieldLines[position] ?? record.line, columnNames[position] ?? "", bytes)
        }
        return undefined
      })()
      return problem === undefined ? { line: record.line, cell } : { line: record.line, cell, problem }
    })
  )
}

const isJsonObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const jsonlRows = (file: string, text: string): Result.Result<Array<TableRow>, DataError> => {
  const rows: Array<TableRow> = []
  for (const [index, raw] of text.split("\n").entries()) {
    const source = raw.endsWith("\r") ? raw.slice(0, -1) : raw
    if (source.trim() === "") continue
    const line = index + 1
    const noCells = () => undefined
    let parsed: unknown
    try {
      parsed = JSON.parse(source)
    } catch (error) {
      const problem = `not JSON (${problemText(error)})`
      rows.push({ line, cell: noCells, problem: { reason: "badJson", line, field: "", problem } })
      continue
    }
    if (!isJsonObject(parsed)) {
      rows.push({ line, cell: noCells, problem: { reason: "badJson", line, field: "", problem: "not a JSON object" } })
      continue
    }
    const object = parsed
    const cell = (column: string): Cell | undefined =>
      Object.hasOwn(object, column) && object[column] !== null ? { value: object[column], line } : undefined
    const bytes = invalidBytesIn(source)
    if (bytes !== undefined) {
      const field = Object.keys(object).find((key) => typeof object[key] === "string" && invalidBytesIn(object[key]) !== undefined) ?? ""
      rows.push({ line, cell, problem: invalidUtf8Problem(line, field, bytes) })
      continue
    }
    rows.push({ line, cell })
  }
  if (rows.length === 0) return Result.fail(new DataError({ file, line: 0, field: "", problem: "empty file" }))
  return Result.succeed(rows)
}

const checkScale = (file: string, scale: Scale): DataError | undefined =>
  Number.isFinite(scale.min) && Number.isFinite(scale.max) && scale.min < scale.max
    ? undefined
    : new DataError({ file, line: 0, field: "scale", problem: `needs finite min < max (got ${scale.min}–${scale.max})` })

export const readVaTable = Effect.fn("readVaTable")(function* (file: string, spec: VaTableSpec) {
  const scaleError = checkScale(file, spec.scale)
  if (scaleError !== undefined) return yield* scaleError
  const text = yield* readSourceText(file)
  if (text.trim() === "") return yield* new DataError({ file, line: 0, field: "", problem: "empty file" })
  const rows = spec.layout === "jsonl" ? jsonlRows(file, text) : delimitedRows(file, text, spec)
  if (Result.isFailure(rows)) return yield* rows.failure
  const examples: Array<VaExample> = []
  const skipped = noSkips()
  for (const row of rows.success) {
    const outcome = toExample(row, spec)
    if (!("reason" in outcome)) {
      examples.push(outcome)
      continue
    }
    if (!spec.skipBadRows) return yield* new DataError({ file, line: outcome.line, field: outcome.field, problem: outcome.problem })
    skipped[outcome.reason]++
  }
  if (examples.length === 0) {
    const reasons = Object.entries(skipped).filter(([, count]) => count > 0).map(([reason, count]) => `${reason} ${count}`)
    return yield* new DataError({ file, line: 0, field: "", problem: `no usable rows (skipped: ${reasons.join(", ")})` })
  }
  const corpus: VaCorpus = { file, format: spec.format, scale: spec.scale, rows: rows.success.length, examples, skipped }
  return corpus
})
