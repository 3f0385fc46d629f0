/**
 * `--data` files into the trainer's splits. Each file is read in its own format and normalised
 * on its own scale (Eq. 12); published splits are kept and the rest split with the run's seed
 * (10% dev, 10% test).
 */
import { open } from "node:fs/promises"
import { Effect } from "effect"
import { DataError } from "../../plugins/data/data-error.ts"
import type { Scale } from "../../plugins/data/types.ts"
import { combineCorpora, readVaCorpus, splitCorpus, type VaReadOptions } from "../../plugins/data/va-corpus.ts"
import type { TrainingData } from "./training-data.ts"

export type DataFormat = "emobank" | "facebook-va" | "csv" | "tsv" | "jsonl"

export interface DataSpec {
  readonly file: string
  /** Told by the header when absent: EmoBank and the Facebook posts are recognised. */
  readonly format?: DataFormat
  readonly textColumn?: string
  readonly valenceColumn?: string
  readonly arousalColumn?: string
  readonly splitColumn?: string
  readonly scale?: Scale
}

const DRAWN_DEV = 0.1
const DRAWN_TEST = 0.1

/** The file's first line, to recognise a published format by its header; an unreadable file is an error naming why. */
const firstLine = (file: string): Effect.Effect<string, DataError> =>
  Effect.tryPromise({
    try: async () => {
      const handle = await open(file, "r")
      try {
        const buffer = Buffer.alloc(4096)
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0)
        return buffer.subarray(0, bytesRead).toString("utf8").replace(/^\uFEFF/, "").split(/\r?\n/)[0] ?? ""
      } finally {
        await handle.close()
      }
    },
    catch: (error) =>
      new DataError({ file, line: 0, field: "", problem: `cannot read (${(error as NodeJS.ErrnoException).code ?? String(error)})` })
  })

const readOptions = (spec: DataSpec, skipBadRows: boolean): Effect.Effect<VaReadOptions, DataError> =>
  Effect.gen(function* () {
    const named = spec.textColumn !== undefined || spec.valenceColumn !== undefined || spec.arousalColumn !== undefined
    let format = spec.format
    if (format === undefined && !named) {
      const header = (yield* firstLine(spec.file)).toLowerCase()
      if (/^"?id"?,"?split"?,"?v"?,"?a"?,"?d"?/.test(header)) format = "emobank"
      else if (header.includes("valence1") && header.includes("arousal1")) format = "facebook-va"
    }
    if (format === "emobank" || format === "facebook-va") {
      return { format, skipBadRows, ...(spec.scale === undefined ? {} : { scale: spec.scale }) }
    }
    const fail = (field: string, problem: string) => new DataError({ file: spec.file, line: 0, field, problem })
    if (!named && format === undefined) {
      return yield* fail("", "not EmoBank or the Facebook posts; name the columns with --text-column, --valence-column, --arousal-column and give --scale")
    }
    if (spec.textColumn === undefined) return yield* fail("text", "--text-column is required for this file")
    if (spec.valenceColumn === undefined) return yield* fail("valence", "--valence-column is required for this file")
    if (spec.arousalColumn === undefined) return yield* fail("arousal", "--arousal-column is required for this file")
    if (spec.scale === undefined) return yield* fail("scale", "--scale min,max is required: the file does not say what its numbers mean (EmoBank: 1,5)")
    return {
      ...(format === undefined ? {} : { format }),
      textColumn: spec.textColumn,
      valenceColumn: spec.valenceColumn,
      arousalColumn: spec.arousalColumn,
      ...(spec.splitColumn === undefined ? {} : { splitColumn: spec.splitColumn }),
      scale: spec.scale,
      skipBadRows
    }
  })

export const loadTrainingData = Effect.fn("loadTrainingData")(function* (
  specs: ReadonlyArray<DataSpec>,
  options: { readonly seed: number; readonly skipBadRows: boolean }
) {
  if (specs.length === 0) return yield* new DataError({ file: "--data", line: 0, field: "", problem: "names no file" })
  const corpora = []
  for (const spec of specs) {
    corpora.push(yield* readVaCorpus(spec.file, yield* readOptions(spec, options.skipBadRows)))
  }
  const combined = combineCorpora(corpora)
  const splits = splitCorpus(combined, { seed: options.seed, dev: DRAWN_DEV, test: DRAWN_TEST })
  if (splits.train.length === 0) {
    // A file whose published split puts every row in dev or test (or a single row) leaves nothing to train on.
    return yield* new DataError({
      file: specs.map((spec) => spec.file).join(", "),
      line: 0,
      field: "",
      problem: `no training examples (${combined.examples.length} examples: dev ${splits.dev.length}, test ${splits.test.length})`
    })
  }
  const strip = (examples: typeof splits.train) => examples.map(({ text, valence, arousal }) => ({ text, valence, arousal }))
  return {
    train: strip(splits.train),
    dev: strip(splits.dev),
    test: strip(splits.test),
    sources: combined.sources.map((source) => ({
      file: source.file,
      format: source.format,
      scale: source.scale,
      examples: source.examples,
      skipped: Object.fromEntries(Object.entries(source.skipped).filter(([, count]) => count > 0))
    }))
  } satisfies TrainingData
})
