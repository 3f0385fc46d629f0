/**
 * SST-5, the sentence-level fine-grained Stanford Sentiment Treebank as SentEval downloads it:
 * stsa.fine.{train,dev,test}, one "<label> <tokenised sentence>" per line, labels 0 (very
 * negative) to 4 (very positive).
 */
import { join } from "node:path"
import { Effect } from "effect"
import { DataError, quoteValue } from "./data-error.ts"
import { readUtf8Text, splitLines } from "./read-text.ts"
import { SPLITS, type LabelledText, type Split } from "./types.ts"

export interface Sst5SplitCounts {
  readonly total: number
  /** Examples per label 0–4. */
  readonly perLabel: ReadonlyArray<number>
}

export interface Sst5Corpus {
  readonly splits: Readonly<Record<Split, ReadonlyArray<LabelledText>>>
  readonly counts: Readonly<Record<Split, Sst5SplitCounts>>
}

const LINE = /^([0-4]) (.*)$/

const readSplit = Effect.fn("readSst5Split")(function* (file: string) {
  const lines = splitLines(yield* readUtf8Text(file))
  const examples: Array<LabelledText> = []
  for (const [index, line] of lines.entries()) {
    const match = LINE.exec(line)
    const text = match?.[2]?.trim() ?? ""
    if (match === null) {
      return yield* new DataError({ file, line: index + 1, field: "label", problem: `expected "<0-4> <text>" (${quoteValue(line)})` })
    }
    if (text === "") return yield* new DataError({ file, line: index + 1, field: "text", problem: "empty text" })
    examples.push({ text, label: Number(match[1]) })
  }
  if (examples.length === 0) return yield* new DataError({ file, line: 0, field: "", problem: "empty file" })
  return examples
})

const countsOf = (examples: ReadonlyArray<LabelledText>): Sst5SplitCounts => {
  const perLabel = [0, 0, 0, 0, 0]
  for (const example of examples) perLabel[example.label] = (perLabel[example.label] ?? 0) + 1
  return { total: examples.length, perLabel }
}

/** Reads `dir`/stsa.fine.{train,dev,test}. */
export const readSst5 = Effect.fn("readSst5")(function* (dir: string) {
  const [train = [], dev = [], test = []] = yield* Effect.forEach(SPLITS, (split) => readSplit(join(dir, `stsa.fine.${split}`)))
  const corpus: Sst5Corpus = {
    splits: { train, dev, test },
    counts: { train: countsOf(train), dev: countsOf(dev), test: countsOf(test) }
  }
  return corpus
})
