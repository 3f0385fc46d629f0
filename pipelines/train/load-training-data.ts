/**
 * `--data` files into the trainer's splits. Each file is read in its own format and normalised
 * on its own scale (Eq. 12); published splits are kept and the rest split with the run's seed
 * (10% dev, 10% test).
 */
import { Effect } from "effect"
import { DataError } from "../../plugins/data/data-error.ts"
import { combineCorpora, splitCorpus } from "../../plugins/data/va-corpus.ts"
import { readVaSpec, type DataSpec } from "../../plugins/data/va-spec.ts"
import type { TrainingData } from "./training-data.ts"

export type { DataFormat, DataSpec } from "../../plugins/data/va-spec.ts"

const DRAWN_DEV = 0.1
const DRAWN_TEST = 0.1

export const loadTrainingData = Effect.fn("loadTrainingData")(function* (
  specs: ReadonlyArray<DataSpec>,
  options: { readonly seed: number; readonly skipBadRows: boolean }
) {
  if (specs.length === 0) return yield* new DataError({ file: "--data", line: 0, field: "", problem: "names no file" })
  const corpora = []
  for (const spec of specs) {
    corpora.push(yield* readVaSpec(spec, options.skipBadRows))
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
