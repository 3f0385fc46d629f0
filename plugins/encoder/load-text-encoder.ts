/**
 * `--model` to an encoder and its tokenizer: "use-lite" (the USE-lite weights shipped in an npm
 * package), a local folder in Hugging Face layout, or a hub id downloaded into the cache.
 */
import { Effect, Schema } from "effect"
import { resolveModel, type HubOptions } from "../hub/index.ts"
import { loadTokenizer, type HfTokenizer } from "../tokenizer/hf-tokenizer.ts"
import { loadBertDirectory } from "./bert/checkpoint.ts"
import type { Encoder } from "./encoder.ts"
import { loadUseLite, USE_LITE_MAX_LENGTH, USE_LITE_PAD_ID, type UseTokenizer } from "./use-lite/index.ts"

export const USE_LITE_MODEL_ID = "use-lite"

export interface TokenizedBatch {
  /** Row-major [batch, seqLength]. */
  readonly ids: Int32Array
  readonly attentionMask: Float32Array
  readonly batch: number
  readonly seqLength: number
  /** How many of the texts lost tokens to `maxLength`. */
  readonly truncated: number
}

export interface TextTokenizer {
  encodeBatch(texts: ReadonlyArray<string>, options: { readonly maxLength: number }): TokenizedBatch
}

/** An encoder with the tokenizer that goes with it. */
export interface TextEncoder {
  /** What `--model` named. */
  readonly name: string
  readonly encoder: Encoder
  readonly tokenizer: TextTokenizer
  /** The longest input the model takes, special tokens included. */
  readonly maxLength: number
}

export class ModelLoadError extends Schema.TaggedError<ModelLoadError>()("ModelLoadError", {
  model: Schema.String,
  problem: Schema.String
}) {
  override get message(): string {
    return `${this.model}: ${this.problem}`
  }
}

/** USE's tokenizer has no special tokens; padding is its −1 id. */
const useLiteTokenizer = (tokenizer: UseTokenizer): TextTokenizer => ({
  encodeBatch: (texts, { maxLength }) => {
    const limit = Math.min(maxLength, USE_LITE_MAX_LENGTH)
    const rows = texts.map((text) => tokenizer.tokenize(text))
    const seqLength = Math.max(1, ...rows.map((row) => Math.min(row.length, limit)))
    const ids = new Int32Array(texts.length * seqLength).fill(USE_LITE_PAD_ID)
    const attentionMask = new Float32Array(texts.length * seqLength)
    rows.forEach((row, b) => {
      row.slice(0, limit).forEach((id, t) => {
        ids[b * seqLength + t] = id
        attentionMask[b * seqLength + t] = 1
      })
    })
    return { ids, attentionMask, batch: texts.length, seqLength, truncated: rows.filter((row) => row.length > limit).length }
  }
})

const hfTokenizer = (tokenizer: HfTokenizer): TextTokenizer => ({
  encodeBatch: (texts, options) => tokenizer.encodeBatch(texts, options)
})

export const loadTextEncoder = Effect.fn("loadTextEncoder")(function* (
  model: string,
  options: { readonly trainable: boolean; readonly hub?: HubOptions }
) {
  if (model === USE_LITE_MODEL_ID) {
    const loaded = yield* Effect.tryPromise({
      try: () => loadUseLite({ trainable: options.trainable }),
      catch: (error) => new ModelLoadError({ model, problem: error instanceof Error ? error.message : String(error) })
    })
    return {
      name: model,
      encoder: loaded.encoder,
      tokenizer: useLiteTokenizer(loaded.tokenizer),
      maxLength: USE_LITE_MAX_LENGTH
    } satisfies TextEncoder
  }
  const directory = yield* resolveModel(model, options.hub ?? {})
  const tokenizer = yield* loadTokenizer(directory)
  const { encoder, config } = yield* loadBertDirectory(directory, { trainable: options.trainable })
  // RoBERTa's position table starts after padding_idx, so it holds padding_idx + 1 fewer inputs.
  const positions = config.maxPositionEmbeddings - (config.modelType === "roberta" ? config.padTokenId + 1 : 0)
  return {
    name: model,
    encoder,
    tokenizer: hfTokenizer(tokenizer),
    maxLength: Math.min(positions, tokenizer.modelMaxLength ?? positions)
  } satisfies TextEncoder
})
