/**
 * A head on disk, beside the model it reads: `<name>.safetensors` holds `weight` [outputs, dims]
 * and `bias` [outputs] (torch.nn.Linear's layout and names), `<name>.json` its card — the encoder
 * it was fitted on, the corpus, the fit and its held-out scores. Both are written atomically,
 * the weights first; reading checks the card against its schema and the weights against the card.
 */
import { mkdir, stat } from "node:fs/promises"
import { join } from "node:path"
import { Effect, Schema, SchemaIssue } from "effect"
import { writeFileAtomic } from "../../core/atomic-file.ts"
import { problemText } from "../../core/errors.ts"
import { floatValues, readSafetensors, writeSafetensors } from "../../core/safetensors.ts"
import { readUtf8 } from "../../core/text-file.ts"
import type { LinearReadout } from "./linear-readout.ts"
import { VA_OUTPUTS } from "./va-head.ts"

export const VA_HEAD = "va-head"
export const EKMAN_HEAD = "ekman-head"
export type HeadName = typeof VA_HEAD | typeof EKMAN_HEAD

/** A head file that is there but cannot be used: unreadable, not JSON, not a head, or weights that do not match. */
export class HeadFileError extends Schema.TaggedError<HeadFileError>()("HeadFileError", {
  file: Schema.String,
  problem: Schema.String
}) {
  override get message(): string {
    return `${this.file}: ${this.problem}`
  }
}

/** No head of that kind beside the model; `hint` says how to get one. */
export class HeadMissing extends Schema.TaggedError<HeadMissing>()("HeadMissing", {
  dir: Schema.String,
  head: Schema.String,
  hint: Schema.String
}) {
  override get message(): string {
    return `no ${this.head} in ${this.dir} (${join(this.dir, `${this.head}.json`)} is missing)${this.hint === "" ? "" : `; ${this.hint}`}`
  }
}

/** Heads that cannot be used with this model or with each other: fitted on other embeddings. */
export class HeadMismatch extends Schema.TaggedError<HeadMismatch>()("HeadMismatch", {
  problem: Schema.String
}) {
  override get message(): string {
    return this.problem
  }
}

const PositiveInt = Schema.Int.pipe(Schema.check(Schema.isGreaterThan(0)))
const Count = Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(0)))
/** JSON has no NaN: an undefined score (constant predictions) is null. */
const Score = Schema.NullOr(Schema.Finite)

/** What the head reads: the same encoder, pooled and cut the same way, gives the vectors it was fitted on. */
const EncoderCard = Schema.Struct({
  model: Schema.String,
  dims: PositiveInt,
  pooling: Schema.Literals(["cls", "pooler", "mean"]),
  maxLength: PositiveInt
})
export type EncoderCard = typeof EncoderCard.Type

const Scale = Schema.Struct({ min: Schema.Finite, max: Schema.Finite })
const Regression = Schema.Struct({ pearson: Score, spearman: Score, mae: Score })

export const VaHeadCard = Schema.Struct({
  format: Schema.Literal("carl-va-head"),
  version: Schema.Literal(1),
  encoder: EncoderCard,
  corpus: Schema.Struct({
    name: Schema.String,
    /** The nominal scale predictions are mapped back to; null when the files had different scales. */
    scale: Schema.NullOr(Scale),
    train: Count,
    dev: Count,
    test: Count
  }),
  fit: Schema.Struct({
    method: Schema.Literal("ridge"),
    lambda: Schema.Struct({ valence: Schema.Finite, arousal: Schema.Finite }),
    devPearson: Schema.Struct({ valence: Score, arousal: Score })
  }),
  /** On the corpus's test split; null when it has none. */
  test: Schema.NullOr(Schema.Struct({ valence: Regression, arousal: Regression })),
  createdAt: Schema.String,
  carl: Schema.String
})
export type VaHeadCard = typeof VaHeadCard.Type

export const EkmanHeadCard = Schema.Struct({
  format: Schema.Literal("carl-ekman-head"),
  version: Schema.Literal(1),
  encoder: EncoderCard,
  classes: Schema.Array(Schema.String),
  corpus: Schema.Struct({ name: Schema.String, train: Count, dev: Count, test: Count }),
  fit: Schema.Struct({ method: Schema.Literal("logistic"), lambda: Schema.Finite, devAccuracy: Score }),
  test: Schema.Struct({ accuracy: Score, macroF1: Score }),
  createdAt: Schema.String,
  carl: Schema.String
})
export type EkmanHeadCard = typeof EkmanHeadCard.Type

export interface LoadedHead<Card> {
  readonly readout: LinearReadout
  readonly card: Card
  readonly dir: string
}

/** A number for the card: NaN and ±∞ (which JSON cannot hold) as null. */
export const score = (value: number): number | null => (Number.isFinite(value) ? value : null)

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

const decodeCard = <A, I>(schema: Schema.Codec<A, I>, raw: unknown, file: string) =>
  Schema.decodeUnknownEffect(schema)(raw).pipe(
    Effect.mapError((error) => {
      const [first] = formatIssues(error.issue).issues
      const field = (first?.path ?? []).map((key) => (typeof key === "object" ? String(key.key) : String(key))).join(".")
      return new HeadFileError({ file, problem: `${field === "" ? "" : `field '${field}': `}${first?.message ?? error.message}` })
    })
  )

const exists = (path: string) => Effect.promise(() => stat(path).then(() => true, () => false))

export const writeHead = (dir: string, name: HeadName, readout: LinearReadout, card: VaHeadCard | EkmanHeadCard) =>
  Effect.gen(function* () {
    const weights = join(dir, `${name}.safetensors`)
    yield* Effect.tryPromise({
      try: () => mkdir(dir, { recursive: true }),
      catch: (error) => new HeadFileError({ file: dir, problem: `cannot create the folder (${problemText(error)})` })
    })
    yield* writeSafetensors(
      weights,
      [
        ["weight", { shape: [readout.outputs.length, readout.dims], values: Float32Array.from(readout.weight) }],
        ["bias", { shape: [readout.outputs.length], values: Float32Array.from(readout.bias) }]
      ],
      { metadata: { format: "pt", head: name } }
    ).pipe(Effect.mapError((error) => new HeadFileError({ file: weights, problem: error.problem })))
    const cardFile = join(dir, `${name}.json`)
    yield* Effect.tryPromise({
      try: () => writeFileAtomic(cardFile, `${JSON.stringify(card, null, 2)}\n`),
      catch: (error) => new HeadFileError({ file: cardFile, problem: `cannot write (${problemText(error)})` })
    })
  })

const readHead = <A extends { readonly encoder: EncoderCard }, I>(
  dir: string,
  name: HeadName,
  schema: Schema.Codec<A, I>,
  outputsOf: (card: A) => ReadonlyArray<string>,
  hint: string
) =>
  Effect.gen(function* () {
    const cardFile = join(dir, `${name}.json`)
    if (!(yield* exists(cardFile))) return yield* new HeadMissing({ dir, head: name, hint })
    const text = yield* readUtf8(cardFile).pipe(Effect.mapError((error) => new HeadFileError({ file: cardFile, problem: error.problem })))
    const raw = yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: (error) => new HeadFileError({ file: cardFile, problem: `not JSON (${problemText(error)})` })
    })
    const card = yield* decodeCard(schema, raw, cardFile)
    const encoder = card.encoder
    const outputs = outputsOf(card)
    const weightsFile = join(dir, `${name}.safetensors`)
    const file = yield* readSafetensors(weightsFile).pipe(Effect.mapError((error) => new HeadFileError({ file: weightsFile, problem: error.message.replace(`${weightsFile}: `, "") })))
    const tensor = (tensorName: string, shape: ReadonlyArray<number>) =>
      Effect.gen(function* () {
        const entry = file.tensors.get(tensorName)
        if (entry === undefined) return yield* new HeadFileError({ file: weightsFile, problem: `no tensor '${tensorName}'` })
        if (entry.shape.length !== shape.length || entry.shape.some((size, i) => size !== shape[i])) {
          return yield* new HeadFileError({
            file: weightsFile,
            problem: `tensor '${tensorName}' has shape [${entry.shape.join(", ")}], the card ${cardFile} needs [${shape.join(", ")}]`
          })
        }
        const values = yield* floatValues(entry, weightsFile).pipe(Effect.mapError((error) => new HeadFileError({ file: weightsFile, problem: error.problem })))
        const bad = values.findIndex((value) => !Number.isFinite(value))
        if (bad >= 0) return yield* new HeadFileError({ file: weightsFile, problem: `tensor '${tensorName}' holds ${values[bad]} at ${bad}` })
        return Float64Array.from(values)
      })
    const weight = yield* tensor("weight", [outputs.length, encoder.dims])
    const bias = yield* tensor("bias", [outputs.length])
    return { readout: { outputs, dims: encoder.dims, weight, bias }, card, dir } satisfies LoadedHead<A>
  })

export const readVaHead = (dir: string, hint = "") => readHead(dir, VA_HEAD, VaHeadCard, () => VA_OUTPUTS, hint)

export const readEkmanHead = (dir: string, hint = "") => readHead(dir, EKMAN_HEAD, EkmanHeadCard, (card) => card.classes, hint)
