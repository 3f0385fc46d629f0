/**
 * BERT and RoBERTa checkpoints in Hugging Face layout: a folder with config.json and
 * model.safetensors (or a sharded model.safetensors.index.json), as `save_pretrained` writes and
 * `AutoModel.from_pretrained` reads.
 *
 * Names: checkpoints of BertModel/RobertaModel have bare names (`encoder.layer.0...`), those of
 * the *For* task models prefix them with `bert.`/`roberta.` and add heads (`cls.*`, `lm_head.*`,
 * `classifier.*`); both are read, heads are ignored, and carl writes bare names, as BertModel
 * does. Linear weights are [out, in] in the file and [in, out] in carl.
 *
 * A checkpoint without a pooler (some are saved with `add_pooling_layer=False`) fails to load
 * unless `poolerIfMissing` gives a generator for a fresh one: CARL's "cls" pooling goes through
 * the pooler, so a silently random one would change what the encoder means.
 */
import { access, mkdir, readFile } from "node:fs/promises"
import { join, resolve } from "node:path"
import * as tf from "@tensorflow/tfjs"
import { Effect, Schema, SchemaIssue } from "effect"
import { copyFileAtomic, writeFileAtomic } from "../../../core/atomic-file.ts"
import { ConfigError, problemText } from "../../../core/errors.ts"
import { denseWeights } from "../../../core/initializers.ts"
import { ParameterSet } from "../../../core/parameters.ts"
import { decodeUtf8 } from "../../../core/text-file.ts"
import type { SeededRandom } from "../../../core/random.ts"
import {
  floatValues,
  readSafetensors,
  SafetensorsError,
  writeSafetensors,
  type SafetensorsEntry
} from "../../../core/safetensors.ts"
import type { BertConfig } from "./config.ts"
import { BertEncoder } from "./index.ts"
import { bertWeightShapes, isLinearWeight, layerPrefix } from "./weights.ts"

/** A failure to write a checkpoint folder or copy a file into it. */
export class BertCheckpointError extends Schema.TaggedError<BertCheckpointError>()("BertCheckpointError", {
  file: Schema.String,
  problem: Schema.String
}) {
  override get message(): string {
    return `${this.file}: ${this.problem}`
  }
}

export const CONFIG_FILE = "config.json"
export const WEIGHTS_FILE = "model.safetensors"
export const SHARDED_WEIGHTS_INDEX = "model.safetensors.index.json"

/** Files a Hugging Face tokenizer may need; copied beside a saved encoder when present. */
export const TOKENIZER_FILES: ReadonlyArray<string> = [
  "tokenizer.json",
  "tokenizer_config.json",
  "vocab.txt",
  "special_tokens_map.json",
  "merges.txt",
  "vocab.json"
]

const errorCode = (error: unknown): string => (error as NodeJS.ErrnoException).code ?? String(error)

const PositiveInt = Schema.Int.pipe(Schema.check(Schema.isGreaterThan(0)))
const NonNegativeInt = Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(0)))
const Positive = Schema.Finite.pipe(Schema.check(Schema.isGreaterThan(0)))
const DropoutProbability = Schema.Finite.pipe(Schema.check(Schema.isBetween({ minimum: 0, maximum: 1, exclusiveMaximum: true })))

/**
 * The config.json fields that change what the model computes. The sizes are required; the rest
 * take the defaults Hugging Face's BertConfig/RobertaConfig give them, as from_pretrained would.
 * Other values of hidden_act and position_embedding_type are models carl does not compute.
 */
const BertConfigJson = Schema.Struct({
  model_type: Schema.Literals(["bert", "roberta"]),
  vocab_size: PositiveInt,
  hidden_size: PositiveInt,
  num_hidden_layers: PositiveInt,
  num_attention_heads: PositiveInt,
  intermediate_size: PositiveInt,
  max_position_embeddings: PositiveInt,
  type_vocab_size: Schema.optionalKey(PositiveInt),
  layer_norm_eps: Schema.optionalKey(Positive),
  pad_token_id: Schema.optionalKey(NonNegativeInt),
  hidden_act: Schema.optionalKey(Schema.Literal("gelu")),
  hidden_dropout_prob: Schema.optionalKey(DropoutProbability),
  attention_probs_dropout_prob: Schema.optionalKey(DropoutProbability),
  position_embedding_type: Schema.optionalKey(Schema.Literal("absolute"))
})

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()
const decodeConfigJson = Schema.decodeUnknownEffect(BertConfigJson)

/** config.json's fields as carl's BertConfig; errors name the file and the field. */
export const parseBertConfig = (raw: unknown, source: string): Effect.Effect<BertConfig, ConfigError> =>
  decodeConfigJson(raw).pipe(
    Effect.mapError((error) => {
      const [first] = formatIssues(error.issue).issues
      const field = (first?.path ?? []).map((key) => (typeof key === "object" ? String(key.key) : String(key))).join(".")
      const problem = first?.message ?? error.message
      const value = typeof raw === "object" && raw !== null && field in raw ? (raw as Record<string, unknown>)[field] : undefined
      // JSON.parse reads 1e999 as Infinity, which JSON.stringify would show as null.
      const shown = typeof value === "number" && !Number.isFinite(value) ? String(value) : JSON.stringify(value)
      const got = value === undefined ? "" : `, got ${shown}`
      const hint = field === "hidden_act" ? " (carl computes GELU with erf, Hugging Face's \"gelu\")" : ""
      return new ConfigError({ source, field, problem: `${problem}${got}${hint}` })
    }),
    Effect.flatMap((json) => {
      if (json.hidden_size % json.num_attention_heads !== 0) {
        return Effect.fail(
          new ConfigError({
            source,
            field: "hidden_size",
            problem: `${json.hidden_size} is not a multiple of num_attention_heads (${json.num_attention_heads})`
          })
        )
      }
      const roberta = json.model_type === "roberta"
      return Effect.succeed({
        modelType: json.model_type,
        vocabSize: json.vocab_size,
        hiddenSize: json.hidden_size,
        numHiddenLayers: json.num_hidden_layers,
        numAttentionHeads: json.num_attention_heads,
        intermediateSize: json.intermediate_size,
        maxPositionEmbeddings: json.max_position_embeddings,
        typeVocabSize: json.type_vocab_size ?? 2,
        layerNormEps: json.layer_norm_eps ?? 1e-12,
        padTokenId: json.pad_token_id ?? (roberta ? 1 : 0),
        hiddenDropoutProb: json.hidden_dropout_prob ?? 0.1,
        attentionProbsDropoutProb: json.attention_probs_dropout_prob ?? 0.1
      } satisfies BertConfig)
    })
  )

/** carl's BertConfig as config.json fields. */
export const bertConfigJson = (config: BertConfig): Record<string, unknown> => ({
  model_type: config.modelType,
  vocab_size: config.vocabSize,
  hidden_size: config.hiddenSize,
  num_hidden_layers: config.numHiddenLayers,
  num_attention_heads: config.numAttentionHeads,
  intermediate_size: config.intermediateSize,
  max_position_embeddings: config.maxPositionEmbeddings,
  type_vocab_size: config.typeVocabSize,
  layer_norm_eps: config.layerNormEps,
  pad_token_id: config.padTokenId,
  hidden_act: "gelu",
  hidden_dropout_prob: config.hiddenDropoutProb,
  attention_probs_dropout_prob: config.attentionProbsDropoutProb
})

const readJsonFile = (path: string): Effect.Effect<unknown, ConfigError> =>
  Effect.tryPromise({
    try: () => readFile(path),
    catch: (error) => new ConfigError({ source: path, field: "", problem: `cannot read the file (${errorCode(error)})` })
  }).pipe(
    Effect.flatMap((bytes) => decodeUtf8(bytes, path)),
    Effect.mapError((error) => (error instanceof ConfigError ? error : new ConfigError({ source: path, field: "", problem: error.problem }))),
    Effect.flatMap((text) =>
      Effect.try({
        try: () => JSON.parse(text) as unknown,
        catch: (error) => new ConfigError({ source: path, field: "", problem: `not valid JSON: ${problemText(error)}` })
      })
    )
  )

export const readBertConfig = Effect.fn("readBertConfig")(function* (dir: string) {
  const path = join(dir, CONFIG_FILE)
  const rawConfig = yield* readJsonFile(path)
  if (typeof rawConfig !== "object" || rawConfig === null || Array.isArray(rawConfig)) {
    return yield* new ConfigError({ source: path, field: "", problem: "not a JSON object" })
  }
  const config = yield* parseBertConfig(rawConfig, path)
  return { config, rawConfig: rawConfig as Record<string, unknown> }
})

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false
  )

/** False only when there is no such file: one that is there but unreadable (a symlink loop) is read, and fails saying why. */
const present = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    (error: NodeJS.ErrnoException) => error.code !== "ENOENT" && error.code !== "ENOTDIR"
  )

interface FoundTensor {
  readonly entry: SafetensorsEntry
  readonly file: string
}

/** All tensors of the checkpoint, from model.safetensors or from the shards its index lists. */
const readCheckpointTensors = Effect.fn("readCheckpointTensors")(function* (dir: string) {
  const single = join(dir, WEIGHTS_FILE)
  const index = join(dir, SHARDED_WEIGHTS_INDEX)
  let files: Array<string> = [single]
  const hasSingle = yield* Effect.promise(() => present(single))
  if (!hasSingle && (yield* Effect.promise(() => present(index)))) {
    const parsed = yield* readJsonFile(index).pipe(
      Effect.mapError((error) => new SafetensorsError({ file: index, tensor: "", problem: error.problem }))
    )
    const weightMap = typeof parsed === "object" && parsed !== null ? (parsed as { weight_map?: unknown }).weight_map : undefined
    if (typeof weightMap !== "object" || weightMap === null || Array.isArray(weightMap)) {
      return yield* new SafetensorsError({ file: index, tensor: "", problem: "no weight_map object" })
    }
    const shards = [...new Set(Object.values(weightMap))].sort()
    // Shards sit beside the index: a name that is not a plain file name would read from elsewhere.
    const badShard = shards.find((shard) => typeof shard !== "string" || !/^[^/\\]+$/.test(shard) || shard === "." || shard === "..")
    if (badShard !== undefined || shards.length === 0) {
      const problem = shards.length === 0 ? "weight_map lists no shard" : `weight_map names ${JSON.stringify(badShard)}, not a file name in the folder`
      return yield* new SafetensorsError({ file: index, tensor: "", problem })
    }
    files = shards.map((shard) => join(dir, String(shard)))
  } else if (!hasSingle) {
    const pickle = yield* Effect.promise(() => exists(join(dir, "pytorch_model.bin")))
    return yield* new SafetensorsError({
      file: single,
      tensor: "",
      problem: pickle
        ? "missing; the folder has pytorch_model.bin, PyTorch's pickle format, which carl does not read (re-save the model with safe_serialization=True)"
        : "missing"
    })
  }
  const found = new Map<string, FoundTensor>()
  for (const file of files) {
    const contents = yield* readSafetensors(file)
    for (const [name, entry] of contents.tensors) {
      const other = found.get(name)
      if (other !== undefined) {
        return yield* new SafetensorsError({ file, tensor: name, problem: `also in ${other.file}` })
      }
      found.set(name, { entry, file })
    }
  }
  return found
})

const MODEL_PREFIXES = ["bert.", "roberta."]

/** Buffers some checkpoints store beside the weights; carl computes them from the config. */
const IGNORED_BUFFERS = new Set(["embeddings.position_ids", "embeddings.token_type_ids"])

/** Names inside the encoder that carl's BERT does not have mean an architecture it does not compute. */
const ENCODER_NAMESPACES = ["embeddings.", "encoder.", "pooler."]

const transposeMatrix = (values: Float32Array, rows: number, columns: number): Float32Array => {
  const out = new Float32Array(values.length)
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) out[c * rows + r] = values[r * columns + c] as number
  }
  return out
}

const sameShape = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): boolean =>
  a.length === b.length && a.every((size, i) => size === b[i])

const shapeText = (shape: ReadonlyArray<number>): string => `[${shape.join(", ")}]`

/** Linear weights' shape in PyTorch's [out, in]; every other tensor's as it is. */
const torchShape = (name: string, shape: ReadonlyArray<number>): ReadonlyArray<number> =>
  isLinearWeight(name) ? [...shape].reverse() : shape

export interface LoadedBert {
  readonly encoder: BertEncoder
  readonly config: BertConfig
  /** config.json as read, so that a save keeps the fields carl does not use. */
  readonly rawConfig: Record<string, unknown>
}

export interface LoadBertOptions {
  readonly trainable: boolean
  /** Draw a pooler with BERT's initialisation when the checkpoint has none; without it that fails. */
  readonly poolerIfMissing?: SeededRandom
}

/**
 * Reads a BERT or RoBERTa folder. Every expected tensor must be there with the shape config.json
 * implies; nothing reaches tfjs until all of them have been checked.
 */
export const loadBertDirectory = Effect.fn("loadBertDirectory")(function* (dir: string, options: LoadBertOptions) {
  const { config, rawConfig } = yield* readBertConfig(dir)
  const found = yield* readCheckpointTensors(dir)
  const byName = new Map<string, FoundTensor>()
  for (const [name, tensor] of found) {
    const prefix = MODEL_PREFIXES.find((p) => name.startsWith(p))
    const bare = prefix === undefined ? name : name.slice(prefix.length)
    const other = byName.get(bare)
    if (other !== undefined) {
      return yield* new SafetensorsError({
        file: tensor.file,
        tensor: name,
        problem: `the same weight as '${other.entry.name}' under another prefix`
      })
    }
    byName.set(bare, tensor)
  }
  // The weight list grows with num_hidden_layers: a config.json claiming far more layers than the
  // file holds (1e12) is reported at the first missing layer instead of being listed first.
  const layers = new Set([...byName.keys()].flatMap((name) => /^encoder\.layer\.(\d+)\./.exec(name)?.[1] ?? []))
  if (config.numHiddenLayers > layers.size) {
    let missing = 0
    while (layers.has(String(missing))) missing++
    return yield* new SafetensorsError({
      file: join(dir, WEIGHTS_FILE),
      tensor: `${layerPrefix(missing)}.attention.self.query.weight`,
      problem: `missing (config.json has num_hidden_layers ${config.numHiddenLayers}, the weights hold ${layers.size} layers)`
    })
  }
  const expected = bertWeightShapes(config)
  const expectedNames = new Set(expected.map(([name]) => name))
  for (const [bare, { entry, file }] of byName) {
    if (expectedNames.has(bare) || IGNORED_BUFFERS.has(bare)) continue
    if (ENCODER_NAMESPACES.some((namespace) => bare.startsWith(namespace))) {
      return yield* new SafetensorsError({
        file,
        tensor: entry.name,
        problem: `not a weight of a ${config.modelType} encoder with this config.json (a different architecture?)`
      })
    }
  }
  const poolerMissing = !byName.has("pooler.dense.weight") && !byName.has("pooler.dense.bias")
  const fresh = poolerMissing && options.poolerIfMissing !== undefined
  const loaded: Array<readonly [string, ReadonlyArray<number>, Float32Array]> = []
  for (const [name, shape] of expected) {
    if (fresh && name.startsWith("pooler.")) continue
    const tensor = byName.get(name)
    const file = tensor?.file ?? join(dir, WEIGHTS_FILE)
    if (tensor === undefined) {
      const hint = poolerMissing && name.startsWith("pooler.") ? " (no pooler: pass poolerIfMissing to draw a fresh one)" : ""
      return yield* new SafetensorsError({ file, tensor: name, problem: `missing${hint}` })
    }
    const want = torchShape(name, shape)
    if (!sameShape(tensor.entry.shape, want)) {
      return yield* new SafetensorsError({
        file,
        tensor: tensor.entry.name,
        problem: `shape ${shapeText(tensor.entry.shape)}, but config.json implies ${shapeText(want)}`
      })
    }
    const values = yield* floatValues(tensor.entry, file)
    const [outFeatures = 0, inFeatures = 0] = want
    loaded.push([name, shape, isLinearWeight(name) ? transposeMatrix(values, outFeatures, inFeatures) : values])
  }
  const tensors: Array<readonly [string, tf.Tensor]> = loaded.map(([name, shape, values]) => [
    name,
    tf.tensor(values, [...shape], "float32")
  ])
  if (fresh && options.poolerIfMissing !== undefined) {
    tensors.push(...denseWeights(options.poolerIfMissing, "pooler.dense", config.hiddenSize, config.hiddenSize))
  }
  const parameters = ParameterSet.fromTensors(tensors, { trainable: options.trainable })
  for (const [, tensor] of tensors) tensor.dispose()
  return { encoder: new BertEncoder(config, parameters), config, rawConfig } satisfies LoadedBert
})

export interface SaveBertOptions {
  /** config.json of the checkpoint the encoder came from: its other fields are kept. */
  readonly rawConfig?: Readonly<Record<string, unknown>>
  /** A folder to copy `files` from (a checkpoint's tokenizer files); absent ones are skipped. */
  readonly copyFrom?: string
  readonly files?: ReadonlyArray<string>
}

/**
 * Writes config.json and model.safetensors (F32, bare names, Linear weights back in [out, in]) so
 * that `AutoModel.from_pretrained(dir)` loads it. Each file is replaced atomically; other files in
 * the folder are left alone.
 */
export const saveBertDirectory = Effect.fn("saveBertDirectory")(function* (
  encoder: BertEncoder,
  dir: string,
  options: SaveBertOptions = {}
) {
  yield* Effect.tryPromise({
    try: () => mkdir(dir, { recursive: true }),
    catch: (error) => new BertCheckpointError({ file: dir, problem: `cannot create the folder (${errorCode(error)})` })
  })
  const tensors: Array<readonly [string, { shape: ReadonlyArray<number>; values: Float32Array }]> = []
  for (const [name, variable] of encoder.parameters.entries()) {
    const values = (yield* Effect.promise(() => variable.data())) as Float32Array
    if (isLinearWeight(name)) {
      const [inFeatures, outFeatures] = variable.shape as [number, number]
      tensors.push([name, { shape: [outFeatures, inFeatures], values: transposeMatrix(values, inFeatures, outFeatures) }])
    } else {
      tensors.push([name, { shape: variable.shape, values }])
    }
  }
  yield* writeSafetensors(join(dir, WEIGHTS_FILE), tensors, { metadata: { format: "pt" } })

  const raw = options.rawConfig ?? {}
  const config: Record<string, unknown> = { ...raw, ...bertConfigJson(encoder.config) }
  if (!Array.isArray(raw.architectures)) config.architectures = [encoder.config.modelType === "roberta" ? "RobertaModel" : "BertModel"]
  // The weights are now float32 whatever the source held.
  for (const key of ["torch_dtype", "dtype"]) if (key in raw) config[key] = "float32"
  const configPath = join(dir, CONFIG_FILE)
  yield* Effect.tryPromise({
    try: () => writeFileAtomic(configPath, `${JSON.stringify(config, null, 2)}\n`),
    catch: (error) => new BertCheckpointError({ file: configPath, problem: `cannot write the file (${errorCode(error)})` })
  })

  const source = options.copyFrom
  if (source !== undefined) {
    for (const file of options.files ?? TOKENIZER_FILES) {
      const from = join(source, file)
      const to = join(dir, file)
      if (resolve(from) === resolve(to) || !(yield* Effect.promise(() => exists(from)))) continue
      yield* Effect.tryPromise({
        try: () => copyFileAtomic(from, to),
        catch: (error) => new BertCheckpointError({ file: to, problem: `cannot copy from ${from} (${errorCode(error)})` })
      })
    }
  }
})
