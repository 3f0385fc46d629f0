/**
 * `--model` to an encoder and its tokenizer: "use-lite" (the USE-lite weights shipped in an npm
 * package), a local folder in Hugging Face layout, or a hub id downloaded into the cache.
 */
import { padRows, type EncodedBatch } from "./tokenizer/pad-rows.ts"
import { Effect, Schema } from "effect"
import { resolveModel, type HubOptions } from "./hub/index.ts"
import { loadTokenizer, type HfTokenizer } from "./tokenizer/hf-tokenizer.ts"
import { loadBertDirectory, saveBertDirectory } from "./bert/checkpoint.ts"
import type { Encoder } from "./encoder.ts"
import { isUseLiteDirectory, loadUseLiteWeights, saveUseLiteDirectory } from "./use-lite/checkpoint.ts"
import {
  loadUseLite,
  loadUseLiteTokenizer,
  USE_LITE_MAX_LENGTH,
  USE_LITE_PAD_ID,
  UseLiteEncoder,
  type UseTokenizer
} from "./use-lite/index.ts"

export const USE_LITE_MODEL_ID = "use-lite"

/** Row-major [batch, seqLength] token ids and attention mask, ready for `tf.tensor2d`. */
export type TokenizedBatch = EncodedBatch

/** Each text's ids, special tokens included and cut to the maximum length, before padding. */
export interface TokenizedRows {
  readonly rows: ReadonlyArray<Int32Array>
  /** How many of the texts lost tokens to `maxLength`. */
  readonly truncated: number
}

export interface TextTokenizer {
  /** The id at padding positions (the attention mask is 0 there). */
  readonly padId: number
  encodeRows(texts: ReadonlyArray<string>, options: { readonly maxLength: number }): TokenizedRows
  /** encodeRows, padded to the longest row: the model's input. */
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
  /** Writes the encoder's current weights in the layout it was loaded from, so `--model dir` reads it. */
  save(dir: string): Effect.Effect<void, ModelLoadError>
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
const useLiteTokenizer = (tokenizer: UseTokenizer): TextTokenizer => {
  const encodeRows = (texts: ReadonlyArray<string>, { maxLength }: { readonly maxLength: number }): TokenizedRows => {
    const limit = Math.min(maxLength, USE_LITE_MAX_LENGTH)
    const pieces = texts.map((text) => tokenizer.tokenize(text))
    return { rows: pieces.map((row) => Int32Array.from(row.slice(0, limit))), truncated: pieces.filter((row) => row.length > limit).length }
  }
  return {
    padId: USE_LITE_PAD_ID,
    encodeRows,
    encodeBatch: (texts, options) => {
      const { rows, truncated } = encodeRows(texts, options)
      // USE-lite's graph takes at least one position, even for a batch of empty texts.
      return padRows(rows, USE_LITE_PAD_ID, { truncated, minimumLength: 1 })
    }
  }
}

const hfTokenizer = (tokenizer: HfTokenizer): TextTokenizer => ({
  padId: tokenizer.padTokenId,
  encodeRows: (texts, options) => tokenizer.encodeRows(texts, options),
  encodeBatch: (texts, options) => tokenizer.encodeBatch(texts, options)
})

const problemOf = (error: unknown) => (error instanceof Error ? error.message : String(error))

const useLiteTextEncoder = (name: string, encoder: UseLiteEncoder, tokenizer: UseTokenizer): TextEncoder => ({
  name,
  encoder,
  tokenizer: useLiteTokenizer(tokenizer),
  maxLength: USE_LITE_MAX_LENGTH,
  save: (dir) =>
    saveUseLiteDirectory(encoder.parameters, dir).pipe(Effect.mapError((error) => new ModelLoadError({ model: dir, problem: error.message })))
})

export const loadTextEncoder = Effect.fn("loadTextEncoder")(function* (
  model: string,
  options: { readonly trainable: boolean; readonly hub?: HubOptions }
) {
  if (model === USE_LITE_MODEL_ID) {
    const loaded = yield* Effect.tryPromise({
      try: () => loadUseLite({ trainable: options.trainable }),
      catch: (error) => new ModelLoadError({ model, problem: problemOf(error) })
    })
    return useLiteTextEncoder(model, loaded.encoder, loaded.tokenizer)
  }
  const directory = yield* resolveModel(model, options.hub ?? {})
  if (yield* isUseLiteDirectory(directory)) {
    const parameters = yield* loadUseLiteWeights(directory, { trainable: options.trainable })
    const tokenizer = yield* Effect.tryPromise({
      try: () => loadUseLiteTokenizer(),
      catch: (error) => new ModelLoadError({ model, problem: problemOf(error) })
    })
    return useLiteTextEncoder(model, new UseLiteEncoder(parameters), tokenizer)
  }
  const tokenizer = yield* loadTokenizer(directory)
  const { encoder, config, rawConfig } = yield* loadBertDirectory(directory, { trainable: options.trainable })
  if (tokenizer.vocabularySize > config.vocabSize) {
    encoder.parameters.dispose()
    return yield* new ModelLoadError({
      model,
      problem: `tokenizer.json has token ids up to ${tokenizer.vocabularySize - 1}, but config.json's vocab_size is ${config.vocabSize}: the tokenizer is not this model's`
    })
  }
  // RoBERTa's position table starts after padding_idx, so it holds padding_idx + 1 fewer inputs.
  const positions = config.maxPositionEmbeddings - (config.modelType === "roberta" ? config.padTokenId + 1 : 0)
  return {
    name: model,
    encoder,
    tokenizer: hfTokenizer(tokenizer),
    maxLength: Math.min(positions, tokenizer.modelMaxLength ?? positions),
    save: (dir: string) =>
      saveBertDirectory(encoder, dir, { rawConfig, copyFrom: directory }).pipe(
        Effect.mapError((error) => new ModelLoadError({ model: dir, problem: error.message }))
      )
  } satisfies TextEncoder
})

/** loadTextEncoder in a scope: the weights are released when it closes. */
export const loadTextEncoderScoped = (model: string, options: { readonly trainable: boolean; readonly hub?: HubOptions }) =>
  Effect.acquireRelease(loadTextEncoder(model, options), (loaded) => Effect.sync(() => loaded.encoder.parameters.dispose()))
