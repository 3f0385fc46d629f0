/**
 * Valence–arousal corpora for CARL training: one entry point for every format, concatenation of
 * several files (each already normalised on its own scale, Eq. 12) and train/dev/test splits that
 * keep a file's published split and draw a seeded one where there is none.
 */
import { basename, extname } from "node:path"
import { Effect } from "effect"
import { SeededRandom } from "../../core/random.ts"
import { DataError } from "./data-error.ts"
import { readEmoBank, type PublishedVaOptions } from "./emobank.ts"
import { readFacebookVa } from "./facebook-va.ts"
import type { Scale, SkipCounts, Split, VaCorpus, VaExample, VaFormat } from "./types.ts"
import { readVaTable } from "./va-table.ts"

/** Any CSV, TSV or JSONL file whose columns (keys, for JSONL) are named here. */
export interface GenericVaOptions {
  /** By default from the extension: .csv, .tsv/.tab, .jsonl/.ndjson. */
  readonly format?: "csv" | "tsv" | "jsonl"
  readonly textColumn: string
  /** Several columns (one per annotator) are averaged. */
  readonly valenceColumn: string | ReadonlyArray<string>
  readonly arousalColumn: string | ReadonlyArray<string>
  /** Values train, dev (or validation, valid, val) and test, any case; empty means no split. */
  readonly splitColumn?: string
  /** The labels' nominal scale, required: a generic file does not say what its numbers mean. */
  readonly scale: Scale
  /** CSV/TSV quoting; "none" for TSV written without quotes. Default "rfc4180". */
  readonly quoting?: "rfc4180" | "none"
  readonly skipBadRows?: boolean
}

export type VaReadOptions = (PublishedVaOptions & { readonly format: "emobank" | "facebook-va" }) | GenericVaOptions

const LAYOUT_BY_EXTENSION: Readonly<Record<string, "csv" | "tsv" | "jsonl">> = {
  ".csv": "csv",
  ".tsv": "tsv",
  ".tab": "tsv",
  ".jsonl": "jsonl",
  ".ndjson": "jsonl"
}

const asList = (columns: string | ReadonlyArray<string>): ReadonlyArray<string> => (typeof columns === "string" ? [columns] : columns)

type PublishedFormatOptions = PublishedVaOptions & { readonly format: "emobank" | "facebook-va" }

const isPublishedFormat = (options: VaReadOptions): options is PublishedFormatOptions =>
  options.format === "emobank" || options.format === "facebook-va"

export const readVaCorpus = (file: string, options: VaReadOptions): Effect.Effect<VaCorpus, DataError> => {
  if (isPublishedFormat(options)) return options.format === "emobank" ? readEmoBank(file, options) : readFacebookVa(file, options)
  const layout = options.format ?? LAYOUT_BY_EXTENSION[extname(file).toLowerCase()]
  if (layout === undefined) {
    return Effect.fail(
      new DataError({ file, line: 0, field: "format", problem: `cannot tell the format from the extension '${extname(file)}'; give it: csv, tsv or jsonl (--format)` })
    )
  }
  const valence = asList(options.valenceColumn)
  const arousal = asList(options.arousalColumn)
  if (valence.length === 0 || arousal.length === 0) {
    return Effect.fail(new DataError({ file, line: 0, field: valence.length === 0 ? "valenceColumn" : "arousalColumn", problem: "names no column" }))
  }
  return readVaTable(file, {
    format: layout,
    layout,
    quoting: options.quoting ?? "rfc4180",
    columns: options.splitColumn === undefined
      ? { text: options.textColumn, valence, arousal }
      : { text: options.textColumn, valence, arousal, split: options.splitColumn },
    scale: options.scale,
    skipBadRows: options.skipBadRows ?? false
  })
}

/** A corpus without its examples: what a run records about each file it trained on. */
export interface VaSource {
  readonly file: string
  readonly format: VaFormat
  readonly scale: Scale
  readonly rows: number
  readonly examples: number
  readonly skipped: SkipCounts
}

export interface SourcedVaExample extends VaExample {
  /** Index into `sources`. */
  readonly source: number
}

export interface CombinedVaCorpus {
  readonly sources: ReadonlyArray<VaSource>
  readonly examples: ReadonlyArray<SourcedVaExample>
}

/** Concatenates corpora in the order given; labels stay as each file's own scale normalised them. */
export const combineCorpora = (corpora: ReadonlyArray<VaCorpus>): CombinedVaCorpus => ({
  sources: corpora.map((corpus) => ({
    file: corpus.file,
    format: corpus.format,
    scale: corpus.scale,
    rows: corpus.rows,
    examples: corpus.examples.length,
    skipped: corpus.skipped
  })),
  examples: corpora.flatMap((corpus, source) => corpus.examples.map((example) => ({ ...example, source })))
})

export interface SplitOptions {
  readonly seed: number
  /** Fractions of the examples without a published split that go to dev and to test. */
  readonly dev: number
  readonly test: number
}

export interface VaSplits<E extends VaExample> {
  readonly train: ReadonlyArray<E & { readonly split: Split }>
  readonly dev: ReadonlyArray<E & { readonly split: Split }>
  readonly test: ReadonlyArray<E & { readonly split: Split }>
  /** How many examples kept the split their file publishes, and how many were drawn one. */
  readonly published: number
  readonly drawn: number
}

const isCombined = (corpus: VaCorpus | CombinedVaCorpus): corpus is CombinedVaCorpus => "sources" in corpus

/**
 * Examples with a published split keep it. The others are split per source file, each by its own
 * generator forked from the seed under the file's base name, so a file's split does not change
 * when other files are combined with it. Every split keeps the corpus order.
 * Fractions outside [0, 1) or summing to 1 or more are a caller's mistake: a RangeError.
 */
export function splitCorpus(corpus: VaCorpus, options: SplitOptions): VaSplits<VaExample>
export function splitCorpus(corpus: CombinedVaCorpus, options: SplitOptions): VaSplits<SourcedVaExample>
export function splitCorpus(corpus: VaCorpus | CombinedVaCorpus, options: SplitOptions): VaSplits<VaExample> {
  const { dev, test, seed } = options
  const fraction = (value: number) => Number.isFinite(value) && value >= 0 && value < 1
  if (!fraction(dev) || !fraction(test) || dev + test >= 1) {
    throw new RangeError(`splitCorpus: dev ${dev} and test ${test} must be fractions in [0, 1) summing to less than 1`)
  }
  const files = isCombined(corpus) ? corpus.sources.map((source) => source.file) : [corpus.file]
  const sourceOf = (example: VaExample): number => ("source" in example && typeof example.source === "number" ? example.source : 0)
  const assigned: Array<Split | undefined> = corpus.examples.map((example) => example.split)
  const root = new SeededRandom(seed)
  files.forEach((file, source) => {
    const unsplit = corpus.examples.flatMap((example, index) => (example.split === undefined && sourceOf(example) === source ? [index] : []))
    if (unsplit.length === 0) return
    root.fork(`split:${basename(file)}`).shuffle(unsplit)
    const testCount = Math.round(unsplit.length * test)
    const devCount = Math.min(Math.round(unsplit.length * dev), unsplit.length - testCount)
    unsplit.forEach((index, rank) => {
      assigned[index] = rank < testCount ? "test" : rank < testCount + devCount ? "dev" : "train"
    })
  })
  const splits: Record<Split, Array<VaExample & { readonly split: Split }>> = { train: [], dev: [], test: [] }
  corpus.examples.forEach((example, index) => {
    const split = assigned[index] ?? "train"
    splits[split].push({ ...example, split })
  })
  const published = corpus.examples.filter((example) => example.split !== undefined).length
  return { ...splits, published, drawn: corpus.examples.length - published }
}
