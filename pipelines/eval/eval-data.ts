/**
 * The corpora `carl eval` reads, from a data folder laid out as `carl data fetch` fills its cache
 * (EmoBank, when the folder has none, from the copy this repository bundles, data/emobank): which task needs which dataset, which files that dataset
 * is, a check that they are all there (naming the fetch command when not), and each dataset
 * read, counted and hashed for the results.
 */
import { createHash } from "node:crypto"
import { readFile, stat } from "node:fs/promises"
import { basename, dirname, join } from "node:path"
import { Effect, Schema } from "effect"
import { SeededRandom } from "../../core/random.ts"
import type { Split } from "../../plugins/data/types.ts"
import {
  goEmotionsToEkman,
  readCr,
  readEmoBank,
  readGoEmotions,
  readImdb,
  readMr,
  readSst5,
  type EkmanCorpus,
  type ImdbCorpus,
  type PolarityCorpus,
  type Sst5Corpus,
  type VaCorpus
} from "../../plugins/data/index.ts"
import { readVaSpec, type DataSpec } from "../../plugins/data/va-spec.ts"
import { dataRootFor } from "../../plugins/data/bundled.ts"

export const EVAL_TASKS = ["va", "mr", "cr", "sst5", "imdb", "ekman", "align"] as const
export type EvalTask = (typeof EVAL_TASKS)[number]

export const EVAL_DATASETS = ["emobank", "mr", "cr", "sst5", "imdb", "goemotions"] as const
export type EvalDataset = (typeof EVAL_DATASETS)[number]

export const TASK_DATASET: Readonly<Record<EvalTask, EvalDataset>> = {
  va: "emobank",
  mr: "mr",
  cr: "cr",
  sst5: "sst5",
  imdb: "imdb",
  ekman: "goemotions",
  align: "goemotions"
}

interface DatasetLayout {
  /** What `path` in the results names: the one file, or the dataset's folder. */
  readonly path: string
  /** Every file the reader reads, relative to the data folder. */
  readonly files: ReadonlyArray<string>
}

/** The layout of ../shared/data, which `carl data fetch <name>` reproduces. */
export const DATASET_LAYOUT: Readonly<Record<EvalDataset, DatasetLayout>> = {
  emobank: { path: "emobank/emobank.csv", files: ["emobank/emobank.csv"] },
  mr: { path: "mr", files: ["mr/rt-polarity.neg", "mr/rt-polarity.pos"] },
  cr: { path: "cr", files: ["cr/senteval_tokenized/custrev.neg", "cr/senteval_tokenized/custrev.pos"] },
  sst5: { path: "sst5", files: ["sst5/stsa.fine.dev", "sst5/stsa.fine.test", "sst5/stsa.fine.train"] },
  imdb: { path: "imdb/aclImdb_train_test_text.tar.gz", files: ["imdb/aclImdb_train_test_text.tar.gz"] },
  goemotions: {
    path: "goemotions",
    files: ["goemotions/dev.tsv", "goemotions/ekman_mapping.json", "goemotions/emotions.txt", "goemotions/test.tsv", "goemotions/train.tsv"]
  }
}

export class EvalError extends Schema.TaggedError<EvalError>()("EvalError", {
  problem: Schema.String
}) {
  override get message(): string {
    return this.problem
  }
}

/**
 * `--max-examples`: one cap for every dataset, or caps by dataset (a task's name stands for its
 * dataset: va → emobank, ekman and align → goemotions); a dataset not named is read whole.
 */
export type MaxExamples = number | Readonly<Partial<Record<EvalDataset, number>>>

export const capFor = (max: MaxExamples | undefined, dataset: EvalDataset): number | undefined =>
  max === undefined ? undefined : typeof max === "number" ? max : max[dataset]

/** "2000" or "imdb=2000,goemotions=5000" (task names allowed for their dataset); a RangeError names what is wrong. */
export const parseMaxExamples = (text: string): MaxExamples => {
  const whole = (value: string, what: string): number => {
    const number = Number(value.trim())
    if (!(value.trim() !== "" && Number.isInteger(number) && number >= 1)) throw new RangeError(`${what} must be a whole number ≥ 1, got '${value.trim()}'`)
    return number
  }
  if (!text.includes("=")) return whole(text, "--max-examples")
  const caps: Partial<Record<EvalDataset, number>> = {}
  for (const part of text.split(",")) {
    const [name = "", value = "", ...rest] = part.split("=")
    const key = name.trim()
    const dataset = (EVAL_DATASETS as ReadonlyArray<string>).includes(key) ? (key as EvalDataset) : (EVAL_TASKS as ReadonlyArray<string>).includes(key) ? TASK_DATASET[key as EvalTask] : undefined
    if (dataset === undefined || rest.length > 0) {
      throw new RangeError(`--max-examples: '${part.trim()}' is not <dataset>=<count>; datasets: ${EVAL_DATASETS.join(", ")} (or a task: ${EVAL_TASKS.join(", ")})`)
    }
    if (caps[dataset] !== undefined) throw new RangeError(`--max-examples: ${dataset} is capped twice`)
    caps[dataset] = whole(value, `--max-examples ${key}`)
  }
  return caps
}

export const datasetsFor = (tasks: ReadonlyArray<EvalTask>): Array<EvalDataset> =>
  EVAL_DATASETS.filter((dataset) => tasks.some((task) => TASK_DATASET[task] === dataset))

/** "missing" when there is no such file, the problem when it is there but not a readable file, else undefined. */
const fileProblem = (path: string): Promise<"missing" | string | undefined> =>
  stat(path).then(
    (info) => (info.isFile() ? undefined : info.isDirectory() ? "is a folder, not a file" : "is not a regular file"),
    (error: NodeJS.ErrnoException) =>
      error.code === "ENOENT" || error.code === "ENOTDIR" ? "missing" : `cannot read (${error.code ?? String(error)})`
  )

/**
 * Fails, before anything is read, with every missing dataset and the one command that fetches
 * them all; a file that is there but cannot be read (a folder, a symlink loop) is named as such.
 */
export const checkEvalData = Effect.fn("checkEvalData")(function* (dataDir: string, datasets: ReadonlyArray<EvalDataset>) {
  const missing: Array<{ readonly dataset: EvalDataset; readonly file: string }> = []
  for (const dataset of datasets) {
    const root = dataRootFor(dataDir, dataset)
    for (const file of DATASET_LAYOUT[dataset].files) {
      const problem = yield* Effect.promise(() => fileProblem(join(root, file)))
      if (problem === undefined) continue
      if (problem !== "missing") return yield* new EvalError({ problem: `${join(root, file)}: ${problem}` })
      missing.push({ dataset, file })
      break
    }
  }
  if (missing.length === 0) return
  const names = missing.map((entry) => entry.dataset)
  const detail = missing.map((entry) => `${entry.dataset} (no ${join(dataDir, entry.file)})`).join(", ")
  return yield* new EvalError({
    problem: `missing data: ${detail}; fetch with: carl data fetch ${names.join(" ")} --data-dir ${dataDir}`
  })
})

/** One file's sha256, or for a folder the sha256 of its files' `sha256sum` listing (sorted by path). */
const hashDataset = (dataDir: string, layout: DatasetLayout): Effect.Effect<string, EvalError> =>
  Effect.tryPromise({
    try: async () => {
      const digests: Array<string> = []
      for (const file of [...layout.files].sort()) {
        const digest = createHash("sha256").update(await readFile(join(dataDir, file))).digest("hex")
        digests.push(`${digest}  ${file.slice(layout.path.length + 1)}\n`)
      }
      const [only] = layout.files
      if (layout.files.length === 1 && only === layout.path) return digests[0]?.slice(0, 64) ?? ""
      return createHash("sha256").update(digests.join("")).digest("hex")
    },
    catch: (error) => new EvalError({ problem: `cannot hash ${layout.path}: ${error instanceof Error ? error.message : String(error)}` })
  })

export interface DatasetRecord {
  readonly path: string
  readonly sha256: string
  readonly counts: Readonly<Record<string, number>>
}

export interface EvalCorpora {
  readonly emobank?: VaCorpus
  /** `--va-data`: the user's valence–arousal corpora, evaluated beside EmoBank by the va task. */
  readonly vaData?: ReadonlyArray<VaCorpus>
  readonly mr?: PolarityCorpus
  readonly cr?: PolarityCorpus
  readonly sst5?: Sst5Corpus
  readonly imdb?: ImdbCorpus
  readonly goemotions?: EkmanCorpus
}

export interface LoadedEvalData {
  readonly corpora: EvalCorpora
  readonly records: Readonly<Partial<Record<EvalDataset, DatasetRecord>>>
  /** One per `--va-data` file, in order. */
  readonly vaData: ReadonlyArray<DatasetRecord>
}

/** What reading the corpora takes besides the folder: the seed and caps of samples, and the user's VA files. */
export interface EvalReadOptions {
  readonly seed: number
  readonly maxExamples?: MaxExamples | undefined
  /** Read with the va task (emobank), each in its own format and scale. */
  readonly vaData?: ReadonlyArray<DataSpec> | undefined
  readonly skipBadRows?: boolean | undefined
}

const countSplits = (examples: ReadonlyArray<{ readonly split?: string }>): Record<string, number> => {
  const counts: Record<string, number> = { train: 0, dev: 0, test: 0 }
  for (const example of examples) if (example.split !== undefined) counts[example.split] = (counts[example.split] ?? 0) + 1
  return counts
}

/**
 * At most `max` of the items, drawn without replacement by a generator of their own (so one
 * split's sample does not depend on another's size), kept in their original order.
 */
const subsample = <T>(items: ReadonlyArray<T>, max: number | undefined, seed: number, label: string): ReadonlyArray<T> => {
  if (max === undefined || items.length <= max) return items
  const random = new SeededRandom(seed).fork(`eval-sample:${label}`)
  const order = items.map((_, i) => i)
  for (let i = 0; i < max; i++) {
    const j = i + random.int(order.length - i)
    const chosen = order[j] ?? i
    order[j] = order[i] ?? j
    order[i] = chosen
  }
  return order
    .slice(0, max)
    .sort((a, b) => a - b)
    .map((i) => items[i] as T)
}

const subsampleSplits = <T>(
  splits: Readonly<Record<Split, ReadonlyArray<T>>>,
  max: number | undefined,
  seed: number,
  dataset: string
): Record<Split, ReadonlyArray<T>> => ({
  train: subsample(splits.train, max, seed, `${dataset}:train`),
  dev: subsample(splits.dev, max, seed, `${dataset}:dev`),
  test: subsample(splits.test, max, seed, `${dataset}:test`)
})

/**
 * Reads the datasets (without checking or hashing the files). `maxExamples` (with `seed`) caps
 * every split of every dataset it names (a number: of every dataset) at a seeded sample (MR and CR, which have no splits, as a whole;
 * IMDB sampled while reading, as readImdb does). Counts are of what the evaluation uses:
 * GoEmotions' are the single-label Ekman examples (with the totals before the Ekman rule beside
 * them), and with `maxExamples` the sampled ones.
 */
export const readEvalCorpora = Effect.fn("readEvalCorpora")(function* (
  dataDir: string,
  datasets: ReadonlyArray<EvalDataset>,
  options: EvalReadOptions
) {
  const corpora: { -readonly [K in keyof EvalCorpora]: EvalCorpora[K] } = {}
  const counts: Partial<Record<EvalDataset, Record<string, number>>> = {}
  for (const dataset of datasets) {
    const layout = DATASET_LAYOUT[dataset]
    const max = capFor(options.maxExamples, dataset)
    const at = (relative: string) => join(dataRootFor(dataDir, dataset), relative)
    switch (dataset) {
      case "emobank": {
        const read = yield* readEmoBank(at(layout.path))
        const bySplit = (split: Split) => read.examples.filter((example) => example.split === split)
        const sampled = subsampleSplits({ train: bySplit("train"), dev: bySplit("dev"), test: bySplit("test") }, max, options.seed, "emobank")
        const corpus = max === undefined ? read : { ...read, examples: [...sampled.train, ...sampled.dev, ...sampled.test] }
        corpora.emobank = corpus
        counts[dataset] = countSplits(corpus.examples)
        const vaData: Array<VaCorpus> = []
        for (const spec of options.vaData ?? []) vaData.push(yield* readVaSpec(spec, options.skipBadRows ?? false))
        if (vaData.length > 0) corpora.vaData = vaData
        break
      }
      case "mr":
      case "cr": {
        const read = yield* (dataset === "mr" ? readMr : readCr)(at(layout.path))
        const examples = subsample(read.examples, max, options.seed, dataset)
        const pos = examples.filter((example) => example.label === 1).length
        const corpus = { ...read, examples, counts: { ...read.counts, pos, neg: examples.length - pos } }
        corpora[dataset] = corpus
        counts[dataset] = { pos: corpus.counts.pos, neg: corpus.counts.neg, total: corpus.examples.length, emptyLines: corpus.counts.emptyLines }
        break
      }
      case "sst5": {
        const read = yield* readSst5(at(layout.path))
        const corpus = { ...read, splits: subsampleSplits(read.splits, max, options.seed, "sst5") }
        corpora.sst5 = corpus
        counts[dataset] = { train: corpus.splits.train.length, dev: corpus.splits.dev.length, test: corpus.splits.test.length }
        break
      }
      case "imdb": {
        const corpus = yield* readImdb(
          at(layout.path),
          max === undefined ? {} : { maxExamples: max, seed: options.seed }
        )
        corpora.imdb = corpus
        counts[dataset] = {
          train: corpus.splits.train.length,
          test: corpus.splits.test.length,
          trainAvailable: corpus.counts.train.pos + corpus.counts.train.neg,
          testAvailable: corpus.counts.test.pos + corpus.counts.test.neg
        }
        break
      }
      case "goemotions": {
        const read = goEmotionsToEkman(yield* readGoEmotions(at(layout.path)))
        const corpus = { ...read, splits: subsampleSplits(read.splits, max, options.seed, "goemotions") }
        corpora.goemotions = corpus
        counts[dataset] = {
          train: corpus.splits.train.length,
          dev: corpus.splits.dev.length,
          test: corpus.splits.test.length,
          trainTotal: corpus.counts.train.total,
          devTotal: corpus.counts.dev.total,
          testTotal: corpus.counts.test.total
        }
        break
      }
    }
  }
  return { corpora, counts }
})

/** Checks that every file is there, reads the datasets and records each one's path, sha256 and counts. */
export const loadEvalData = Effect.fn("loadEvalData")(function* (
  dataDir: string,
  datasets: ReadonlyArray<EvalDataset>,
  options: EvalReadOptions
) {
  yield* checkEvalData(dataDir, datasets)
  const { corpora, counts } = yield* readEvalCorpora(dataDir, datasets, options)
  const records: Partial<Record<EvalDataset, DatasetRecord>> = {}
  for (const dataset of datasets) {
    const layout = DATASET_LAYOUT[dataset]
    const root = dataRootFor(dataDir, dataset)
    records[dataset] = { path: join(root, layout.path), sha256: yield* hashDataset(root, layout), counts: counts[dataset] ?? {} }
  }
  const vaData: Array<DatasetRecord> = []
  for (const corpus of corpora.vaData ?? []) {
    const sha256 = yield* hashDataset(dirname(corpus.file), { path: basename(corpus.file), files: [basename(corpus.file)] })
    const skipped = Object.fromEntries(Object.entries(corpus.skipped).filter(([, count]) => count > 0))
    vaData.push({ path: corpus.file, sha256, counts: { examples: corpus.examples.length, rows: corpus.rows, ...skipped } })
  }
  return { corpora, records, vaData } satisfies LoadedEvalData
})
