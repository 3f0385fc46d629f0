/**
 * carl's configuration, with the CARL paper's defaults (Sec. IV-A and EQUATIONS.md). Decoded
 * with Schema: an unknown field or a bad value is a ConfigError that names the field.
 */
import { Effect, Schema, SchemaIssue } from "effect"
import { ConfigError } from "../../core/errors.ts"

const withDefault =
  <A>(value: A) =>
  <S extends Schema.Top & { readonly Encoded: A }>(schema: S) =>
    schema.pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

const Positive = Schema.Finite.pipe(Schema.check(Schema.isGreaterThan(0)))
const NonNegative = Schema.Finite.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(0)))
const PositiveInt = Schema.Int.pipe(Schema.check(Schema.isGreaterThan(0)))
const NonNegativeInt = Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(0)))
const UnitInterval = Schema.Finite.pipe(Schema.check(Schema.isBetween({ minimum: 0, maximum: 1 })))
const Fraction = Schema.Finite.pipe(
  Schema.check(Schema.isBetween({ minimum: 0, maximum: 1, exclusiveMinimum: true }))
)

const group = <Fields extends Schema.Struct.Fields>(fields: Fields) =>
  Schema.Struct(fields).pipe(
    Schema.withDecodingDefaultKey(Effect.succeed({} as Schema.Struct<Fields>["Encoded"]))
  )

export const CarlConfigSchema = Schema.Struct({
  seed: NonNegativeInt.pipe(withDefault(42)),
  model: group({
    /** CLS pooling with the pooler's dense layer and no activation (Sec. IV-A). */
    pooling: Schema.Literals(["cls", "pooler", "mean"]).pipe(withDefault<"cls" | "pooler" | "mean">("cls")),
    maxLength: PositiveInt.pipe(withDefault(128)),
    /** Width of the projection and prediction heads' output z, p. */
    projectionSize: PositiveInt.pipe(withDefault(128)),
    /**
     * Dropout in training: "checkpoint" takes the encoder's own (BERT/RoBERTa's config.json, 0.1 for
     * bert-base; none for USE-lite); a number sets the hidden and attention rates alike.
     */
    dropout: Schema.Union([Schema.Literal("checkpoint"), Schema.Finite.pipe(Schema.check(Schema.isBetween({ minimum: 0, maximum: 1, exclusiveMaximum: true })))]).pipe(
      withDefault<"checkpoint" | number>("checkpoint")
    ),
    /** Whether the momentum target's forward also runs with dropout (a PyTorch module left in train mode does). */
    targetDropout: Schema.Boolean.pipe(withDefault(false))
  }),
  optimizer: group({
    learningRate: Positive.pipe(withDefault(2e-5)),
    weightDecay: NonNegative.pipe(withDefault(0.01)),
    beta1: UnitInterval.pipe(withDefault(0.9)),
    beta2: UnitInterval.pipe(withDefault(0.999)),
    epsilon: Positive.pipe(withDefault(1e-8)),
    /** Linear warmup over this fraction of the steps, then cosine annealing with warm restarts. */
    warmupRatio: UnitInterval.pipe(withDefault(0.1))
  }),
  training: group({
    batchSize: PositiveInt.pipe(withDefault(128)),
    epochs: PositiveInt.pipe(withDefault(2)),
    /**
     * Rows per micro-batch: MCCL still sees the whole batch (GradCache, core/executor.ts), memory
     * holds one micro-batch's activations. "auto": the most that fits the backend's memory.
     */
    microBatch: Schema.Union([PositiveInt, Schema.Literal("auto")]).pipe(withDefault<number | "auto">("auto")),
    /**
     * "keep": every micro-batch's activations on one tape (fastest); "recompute": one micro-batch at a
     * time, the encoder run twice (GradCache; least memory); "auto": keep while the batch fits.
     */
    memory: Schema.Literals(["auto", "keep", "recompute"]).pipe(withDefault<"auto" | "keep" | "recompute">("auto"))
  }),
  mccl: group({
    /** τ_sim of Eq. 5. */
    temperature: Positive.pipe(withDefault(0.05)),
    /** τ_va of Eq. 5; the paper gives one temperature, EQUATIONS.md uses it for both. */
    labelTemperature: Positive.pipe(withDefault(0.05)),
    /**
     * I_va of Eq. 4: "cosine" of the labels (the paper's), "centered-cosine" of the labels less the
     * batch's mean, or "rbf": exp(−‖y_i − y_j‖²/(2σ²)) with σ = labelBandwidth.
     */
    labelSimilarity: Schema.Literals(["cosine", "centered-cosine", "rbf"]).pipe(withDefault<"cosine" | "centered-cosine" | "rbf">("cosine")),
    labelBandwidth: Positive.pipe(withDefault(0.25)),
    /** Leave each sentence's pair with itself out of both softmaxes (no identity shortcut). */
    maskDiagonal: Schema.Boolean.pipe(withDefault(false))
  }),
  momentum: group({
    /** m₀ of Eq. 2. */
    initial: UnitInterval.pipe(withDefault(0.9996))
  }),
  saliency: group({
    /** Share of each sentence's real tokens perturbed (Eq. 7), at least one token. */
    topFraction: Fraction.pipe(withDefault(0.1))
  }),
  pgd: group({
    epsilon: NonNegative.pipe(withDefault(5e-9)),
    /** "absolute": ε as it is (the paper's); "relative": ε·‖e_t‖ for each token. */
    epsilonScale: Schema.Literals(["absolute", "relative"]).pipe(withDefault<"absolute" | "relative">("absolute")),
    alpha: NonNegative.pipe(withDefault(5)),
    steps: NonNegativeInt.pipe(withDefault(1))
  }),
  ptd: group({
    /** γ of the focal loss (Eq. 10). */
    gamma: NonNegative.pipe(withDefault(2))
  }),
  objective: group({
    /** λ₁ and λ₂ of Eq. 11. */
    mccl: NonNegative.pipe(withDefault(0.8)),
    ptd: NonNegative.pipe(withDefault(0.2)),
    /** Weight of a supervised valence–arousal regression term beside MCCL and PTD (not in the paper: 0). */
    vaRegression: NonNegative.pipe(withDefault(0))
  })
})

export type CarlConfig = typeof CarlConfigSchema.Type

/** A deep-partial configuration, as a user writes it. */
export type CarlConfigInput = typeof CarlConfigSchema.Encoded

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

const decodeStrict = Schema.decodeUnknownEffect(CarlConfigSchema)

/** Decodes and fills in defaults; `source` names where the input came from (a file, "flags"). */
export const decodeConfig = (input: unknown, source = "config"): Effect.Effect<CarlConfig, ConfigError> =>
  decodeStrict(input, { onExcessProperty: "error" }).pipe(
    Effect.mapError((error) => {
      const [first] = formatIssues(error.issue).issues
      const field = (first?.path ?? []).map((key) => (typeof key === "object" ? String(key.key) : String(key))).join(".")
      const message = first?.message ?? error.message
      const problem = message === "Expected no excess property" ? "unknown field" : message
      return new ConfigError({ source, field, problem })
    })
  )

/** The defaults alone. */
export const defaultConfig = (): CarlConfig => Effect.runSync(decodeConfig({}, "defaults"))

/**
 * Named starting points for `carl train --preset`: "paper" is the paper's settings exactly (the
 * defaults above); "recipe" is what measured best on EmoBank's dev split (docs/RESULTS.md), and what
 * `carl train` uses when no preset is named.
 */
export const CONFIG_PRESETS = {
  paper: {},
  /**
   * The paper's settings with the learning rate of the best supervised run (1e-4: at 2e-5 the
   * encoder barely moves in 2 epochs) and a supervised valence–arousal term beside MCCL and PTD.
   * Its weight, 10000, puts the term's gradient at the encoder at about twelve times MCCL's (at weight 1 it is a
   * thousandth of it and changes nothing; at 1000, as large, and dev r is lower). docs/RESULTS.md,
   * "Choosing the recipe" and "Gradient norms".
   */
  recipe: { optimizer: { learningRate: 1e-4 }, objective: { vaRegression: 10000 } }
} as const satisfies Readonly<Record<string, CarlConfigInput>>

export type ConfigPreset = keyof typeof CONFIG_PRESETS

/** The preset `carl train` starts from when none is named. */
export const DEFAULT_PRESET: ConfigPreset = "recipe"
export const CONFIG_PRESET_NAMES = Object.keys(CONFIG_PRESETS) as ReadonlyArray<ConfigPreset>
