/**
 * Binary sentiment corpora published as two files of one sentence per line, the label being the
 * file: MR (Pang & Lee 2005, rt-polarity.{pos,neg}, Latin-1) and CR (Hu & Liu 2004, SentEval's
 * custrev.{pos,neg}, ASCII). Positive is 1, negative 0, positives first as SentEval orders them.
 * Neither has a published split (SentEval cross-validates).
 */
import { join } from "node:path"
import { Effect } from "effect"
import { readLatin1Text, readUtf8Text, splitLines } from "./read-text.ts"
import { DataError } from "./data-error.ts"
import type { LabelledText } from "./types.ts"

export interface PolarityCounts {
  /** Lines in each file, as published (MANIFEST counts). */
  readonly posLines: number
  readonly negLines: number
  /** Examples kept per class. */
  readonly pos: number
  readonly neg: number
  /** Empty lines dropped (CR has two per file), unless `keepEmptyLines`. */
  readonly emptyLines: number
}

export interface PolarityCorpus {
  readonly examples: ReadonlyArray<LabelledText<0 | 1>>
  readonly counts: PolarityCounts
}

export interface PolarityOptions {
  /**
   * SentEval keeps empty lines as empty sentences (3,775 CR examples); by default they are
   * dropped and counted, since an empty sentence has no sentiment.
   */
  readonly keepEmptyLines?: boolean
}

export interface PolarityFiles {
  readonly pos: string
  readonly neg: string
  readonly encoding: "utf-8" | "latin1"
}

/**
 * Each line is trimmed: the published lines end in a space (a leftover of their tokenisation),
 * which carries nothing.
 */
export const readPolarityFiles = Effect.fn("readPolarityFiles")(function* (files: PolarityFiles, options: PolarityOptions = {}) {
  const read = (file: string): Effect.Effect<string, DataError> => (files.encoding === "latin1" ? readLatin1Text(file) : readUtf8Text(file))
  const posLines = splitLines(yield* read(files.pos))
  const negLines = splitLines(yield* read(files.neg))
  const keepEmpty = options.keepEmptyLines === true
  for (const [file, lines] of [[files.pos, posLines], [files.neg, negLines]] as const) {
    if (lines.length === 0) return yield* new DataError({ file, line: 0, field: "", problem: "empty file" })
    if (!keepEmpty && lines.every((line) => line.trim() === "")) {
      return yield* new DataError({ file, line: 0, field: "", problem: `no sentences (${lines.length} empty lines)` })
    }
  }
  const examples: Array<LabelledText<0 | 1>> = []
  let emptyLines = 0
  const add = (lines: ReadonlyArray<string>, label: 0 | 1) => {
    for (const line of lines) {
      const text = line.trim()
      if (text === "" && !keepEmpty) emptyLines++
      else examples.push({ text, label })
    }
  }
  add(posLines, 1)
  add(negLines, 0)
  const pos = examples.filter((example) => example.label === 1).length
  const corpus: PolarityCorpus = {
    examples,
    counts: { posLines: posLines.length, negLines: negLines.length, pos, neg: examples.length - pos, emptyLines }
  }
  return corpus
})

/** MR: `dir`/rt-polarity.{pos,neg}, decoded as Latin-1 as SentEval does. */
export const readMr = (dir: string, options: PolarityOptions = {}): Effect.Effect<PolarityCorpus, DataError> =>
  readPolarityFiles({ pos: join(dir, "rt-polarity.pos"), neg: join(dir, "rt-polarity.neg"), encoding: "latin1" }, options)

/** CR: `dir`/senteval_tokenized/custrev.{pos,neg}, the copy SentEval reads. */
export const readCr = (dir: string, options: PolarityOptions = {}): Effect.Effect<PolarityCorpus, DataError> =>
  readPolarityFiles(
    { pos: join(dir, "senteval_tokenized", "custrev.pos"), neg: join(dir, "senteval_tokenized", "custrev.neg"), encoding: "utf-8" },
    options
  )
