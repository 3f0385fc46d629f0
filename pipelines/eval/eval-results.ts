/**
 * The results file `carl eval` writes (the HTML report reads it). Accuracy, precision, recall and
 * F1 are fractions in [0, 1] (the tables print accuracy as a percentage, as the paper does);
 * correlations and MAE are on labels in [−1, 1] (Eq. 12); every `seconds` is wall time. JSON has
 * no NaN: an undefined value (a correlation of constant predictions) is written as null.
 */
import type { Pooling } from "../../plugins/encoders/index.ts"
import type { DatasetRecord, EvalDataset } from "./eval-data.ts"

export interface VaDimensionResult {
  readonly pearson: number
  readonly spearman: number
  readonly mae: number
}

/** A `--va-data` corpus: cross-corpus (fitted on EmoBank train) and in-domain (k-fold on the corpus). */
export interface VaCorpusResult {
  readonly name: string
  readonly file: string
  readonly examples: number
  readonly scale: { readonly min: number; readonly max: number }
  readonly crossCorpus: { readonly valence: VaDimensionResult; readonly arousal: VaDimensionResult }
  readonly inDomain: { readonly valence: VaDimensionResult; readonly arousal: VaDimensionResult; readonly folds: number }
}

export interface VaTaskResult {
  readonly valence: VaDimensionResult
  readonly arousal: VaDimensionResult
  readonly seconds: number
  /** One per `--va-data` file, in order. */
  readonly corpora?: ReadonlyArray<VaCorpusResult>
}

export interface CrossValidatedTaskResult {
  readonly accuracy: number
  readonly folds: 10
  readonly seconds: number
}

export interface Sst5TaskResult {
  readonly accuracy: number
  readonly seconds: number
}

export interface ImdbTaskResult {
  readonly accuracy: number
  /** Reviews per split sampled from the 25,000, or null for all of them. */
  readonly maxExamples: number | null
  readonly seconds: number
}

export interface EkmanTaskResult {
  readonly accuracy: number
  /** Macro averages over the classes. */
  readonly precision: number
  readonly recall: number
  readonly f1: number
  readonly classes: ReadonlyArray<string>
  readonly counts: { readonly train: number; readonly dev: number; readonly test: number }
  readonly seconds: number
}

export interface PcaResultRecord {
  readonly points: ReadonlyArray<{ readonly x: number; readonly y: number; readonly label: string }>
  readonly explainedVariance: readonly [number, number]
  /** Keyed "<a>|<b>", a before b in the class order of the ekman task. */
  readonly centroidDistances: Readonly<Record<string, number>>
}

export interface AlignTaskResult {
  readonly alignment: number
  readonly uniformity: number
  /** Positive pairs averaged over (all same-class pairs, or a seeded sample of them). */
  readonly positivePairs: number
  /** Pairs uniformity averaged over: all pairs of the test examples, or of a seeded subsample. */
  readonly uniformityPairs: number
  readonly seconds: number
  readonly pca: PcaResultRecord
}

export interface TaskResults {
  readonly va?: VaTaskResult
  readonly mr?: CrossValidatedTaskResult
  readonly cr?: CrossValidatedTaskResult
  readonly sst5?: Sst5TaskResult
  readonly imdb?: ImdbTaskResult
  readonly ekman?: EkmanTaskResult
  readonly align?: AlignTaskResult
}

export interface ModelResults {
  readonly name: string
  readonly tasks: TaskResults
  /** Time spent getting this model's embeddings: embedding (cache misses) and reading (hits). */
  readonly embeddingSeconds: number
  /** Text lists (a split of a dataset) read from the embedding cache instead of embedded. */
  readonly cacheHits: number
}

export interface EvalResults {
  readonly carl: string
  readonly createdAt: string
  readonly seed: number
  readonly backend: { readonly name: string; readonly threads: number }
  readonly pooling: Pooling
  readonly maxLength: number
  /**
   * The per-split cap of `--max-examples` (a seeded sample of each split): one number for every
   * dataset, caps by dataset name, or null for all.
   */
  readonly maxExamples?: number | Readonly<Partial<Record<EvalDataset, number>>> | null
  readonly data: Readonly<Partial<Record<EvalDataset, DatasetRecord>>>
  /** The `--va-data` files (path, sha256, counts), in order. */
  readonly vaData?: ReadonlyArray<DatasetRecord>
  readonly models: ReadonlyArray<ModelResults>
}
