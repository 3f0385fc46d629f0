/**
 * The results file `carl eval` writes and `carl eval --report` reads. Decoded with Schema so a
 * wrong or truncated file fails with one line naming the field, not a broken report.
 *
 * Scales, fixed here so the writer and the report agree: accuracy, precision, recall, F1 and the
 * PCA explained variance are fractions in [0, 1] (the report shows accuracy as a percentage, as
 * the paper's tables do); correlations are in [-1, 1]; alignment is a mean squared distance
 * between unit vectors (≥ 0) and uniformity a log-mean (≤ 0 in exact arithmetic, not checked).
 * Fields the schema does not know are ignored, so a newer writer does not break an older report.
 */
import { Effect, Schema, SchemaIssue } from "effect"

export class ResultsFileError extends Schema.TaggedError<ResultsFileError>()("ResultsFileError", {
  file: Schema.String,
  field: Schema.String,
  problem: Schema.String
}) {
  override get message(): string {
    return `${this.file}: ${this.field === "" ? "" : `field '${this.field}': `}${this.problem}`
  }
}

const Fraction = Schema.Finite.pipe(Schema.check(Schema.isBetween({ minimum: 0, maximum: 1 })))
const Correlation = Schema.Finite.pipe(Schema.check(Schema.isBetween({ minimum: -1, maximum: 1 })))
const NonNegative = Schema.Finite.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(0)))
const Count = Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(0)))
const PositiveInt = Schema.Int.pipe(Schema.check(Schema.isGreaterThan(0)))
const Seconds = NonNegative

/** A correlation is null when undefined (constant predictions): JSON has no NaN. */
const Regression = Schema.Struct({ pearson: Schema.NullOr(Correlation), spearman: Schema.NullOr(Correlation), mae: NonNegative })

/** A `carl eval --va-data` corpus: in-domain (k-fold) and cross-corpus (fitted on EmoBank) regression. */
const VaCorpus = Schema.Struct({
  name: Schema.String,
  file: Schema.String,
  examples: Count,
  scale: Schema.Struct({ min: Schema.Finite, max: Schema.Finite }),
  crossCorpus: Schema.Struct({ valence: Regression, arousal: Regression }),
  inDomain: Schema.Struct({ valence: Regression, arousal: Regression, folds: PositiveInt })
})

/** Table I: ridge regression of EmoBank valence and arousal from the embeddings (and of the user's corpora). */
const VaTask = Schema.Struct({ valence: Regression, arousal: Regression, seconds: Seconds, corpora: Schema.optionalKey(Schema.Array(VaCorpus)) })

/** MR and CR: SentEval-style k-fold cross-validated logistic regression. */
const CrossValidatedTask = Schema.Struct({ accuracy: Fraction, folds: PositiveInt, seconds: Seconds })

const Sst5Task = Schema.Struct({ accuracy: Fraction, seconds: Seconds })

/** `maxExamples` is null when the whole of IMDB was used, else the cap per split. */
const ImdbTask = Schema.Struct({ accuracy: Fraction, maxExamples: Schema.NullOr(PositiveInt), seconds: Seconds })

/** Table III: GoEmotions mapped to Ekman's six; precision, recall and F1 are macro averages. */
const EkmanTask = Schema.Struct({
  accuracy: Fraction,
  precision: Fraction,
  recall: Fraction,
  f1: Fraction,
  classes: Schema.Array(Schema.String),
  counts: Schema.Struct({ train: Count, dev: Count, test: Count }),
  seconds: Seconds
})

const PcaPoint = Schema.Struct({ x: Schema.Finite, y: Schema.Finite, label: Schema.String })

const Pca = Schema.Struct({
  points: Schema.Array(PcaPoint),
  /** Share of the total variance on PC1 and PC2. */
  explainedVariance: Schema.Tuple([Fraction, Fraction]),
  /** Keyed "a|b" by the two class labels. */
  centroidDistances: Schema.Record(Schema.String, NonNegative)
})

/** Table IV (Wang & Isola's alignment and uniformity) and Fig. 2's PCA of the same embeddings. */
const AlignTask = Schema.Struct({
  alignment: NonNegative,
  uniformity: Schema.Finite,
  positivePairs: Count,
  uniformityPairs: Count,
  seconds: Seconds,
  pca: Pca
})

const Tasks = Schema.Struct({
  va: Schema.optionalKey(VaTask),
  mr: Schema.optionalKey(CrossValidatedTask),
  cr: Schema.optionalKey(CrossValidatedTask),
  sst5: Schema.optionalKey(Sst5Task),
  imdb: Schema.optionalKey(ImdbTask),
  ekman: Schema.optionalKey(EkmanTask),
  align: Schema.optionalKey(AlignTask)
})

const ModelResults = Schema.Struct({
  name: Schema.String,
  tasks: Tasks,
  embeddingSeconds: Seconds,
  cacheHits: Count
})

const DatasetFile = Schema.Struct({
  path: Schema.String,
  sha256: Schema.String,
  counts: Schema.Record(Schema.String, Count)
})

export const EvalResultsSchema = Schema.Struct({
  carl: Schema.String,
  createdAt: Schema.String,
  seed: Count,
  backend: Schema.Struct({ name: Schema.String, threads: PositiveInt }),
  pooling: Schema.String,
  maxLength: PositiveInt,
  maxExamples: Schema.optionalKey(Schema.NullOr(Schema.Union([PositiveInt, Schema.Record(Schema.String, PositiveInt)]))),
  data: Schema.Record(Schema.String, DatasetFile),
  models: Schema.Array(ModelResults).pipe(Schema.check(Schema.isMinLength(1))),
  /** Free text shown at the top of the report, e.g. that the numbers are a fixture. */
  note: Schema.optionalKey(Schema.String)
})

export type EvalResults = typeof EvalResultsSchema.Type
export type ModelResults = EvalResults["models"][number]
export type TaskResults = ModelResults["tasks"]
export type PcaResults = NonNullable<TaskResults["align"]>["pca"]
export type PcaPoint = PcaResults["points"][number]

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

const decodeUnknown = Schema.decodeUnknownEffect(EvalResultsSchema)

const pathKeys = (path: ReadonlyArray<unknown>): Array<unknown> =>
  path.map((key) => (typeof key === "object" && key !== null && "key" in key ? (key as { readonly key: unknown }).key : key))

/** `models.1.tasks.mr.accuracy` → `models[1].tasks.mr.accuracy`, as a reader of JSON writes it. */
const fieldPath = (keys: ReadonlyArray<unknown>): string =>
  keys.reduce<string>(
    (text, key) => (typeof key === "number" ? `${text}[${key}]` : text === "" ? String(key) : `${text}.${String(key)}`),
    ""
  )

const valueAt = (input: unknown, keys: ReadonlyArray<unknown>): unknown =>
  keys.reduce<unknown>(
    (value, key) => (typeof value === "object" && value !== null ? (value as Record<PropertyKey, unknown>)[key as PropertyKey] : undefined),
    input
  )

/** The offending value when it is short enough to quote: "got 87.66" is half of the fix. */
const quoted = (value: unknown): string | undefined => {
  if (value === undefined || (typeof value === "object" && value !== null)) return undefined
  const text = JSON.stringify(value)
  return text.length <= 40 ? text : `${text.slice(0, 37)}...`
}

/** The name of the model a failing path points into, so "models[4]" in a long file is findable. */
const modelNameAt = (input: unknown, keys: ReadonlyArray<unknown>): string | undefined => {
  if (keys[0] !== "models" || typeof keys[1] !== "number" || keys.length < 3) return undefined
  const name = valueAt(input, [...keys.slice(0, 2), "name"])
  return typeof name === "string" ? name : undefined
}

/** Decodes a parsed results file; `source` names it (a path) in the error. */
export const decodeResults = (input: unknown, source = "results"): Effect.Effect<EvalResults, ResultsFileError> =>
  decodeUnknown(input).pipe(
    Effect.mapError((error) => {
      const [first] = formatIssues(error.issue).issues
      const keys = pathKeys(first?.path ?? [])
      const got = quoted(valueAt(input, keys))
      const name = modelNameAt(input, keys)
      const problem = (first?.message ?? error.message).split("\n")[0] ?? ""
      return new ResultsFileError({
        file: source,
        field: fieldPath(keys),
        problem: `${problem}${got === undefined ? "" : `, got ${got}`}${name === undefined ? "" : ` (model '${name}')`}`
      })
    })
  )

/** Parses and decodes the text of a results file. */
export const parseResults = (text: string, source = "results"): Effect.Effect<EvalResults, ResultsFileError> =>
  Effect.try({
    try: (): unknown => JSON.parse(text),
    catch: (error) =>
      new ResultsFileError({ file: source, field: "", problem: `not valid JSON (${error instanceof Error ? error.message : String(error)})` })
  }).pipe(Effect.flatMap((input) => decodeResults(input, source)))
