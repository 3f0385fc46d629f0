/**
 * What carl needs of an encoder: its word embeddings as a separate step (saliency and PGD act on
 * them, Eqs. 7–9), the transformer from embeddings to hidden states, pooling, and a copy with
 * its own weights for the momentum target (Eq. 1). BERT, RoBERTa and USE-lite implement it.
 */
import type * as tf from "@tensorflow/tfjs"
import type { Dropout, DropoutRates } from "../../core/dropout.ts"
import type { ParameterSet } from "../../core/parameters.ts"

/**
 * cls:    the pooler's dense layer on the first token, without its activation (CARL's pooling)
 * pooler: the pooler's dense layer and tanh (Hugging Face's pooler_output)
 * mean:   mean of the last hidden states over real tokens
 */
export type Pooling = "cls" | "pooler" | "mean"

export const POOLINGS: ReadonlyArray<Pooling> = ["cls", "pooler", "mean"]

export interface Encoder {
  readonly kind: string
  readonly hiddenSize: number
  readonly parameters: ParameterSet
  /** The dropout its checkpoint trains with (BERT's config.json; none for USE-lite). */
  readonly dropoutRates: DropoutRates
  /** [batch, seq] ids → [batch, seq, hidden] word embeddings e_t. */
  embedTokens(tokenIds: tf.Tensor2D): tf.Tensor3D
  /** e_t (possibly perturbed) → [batch, seq, hidden] last hidden states; with dropout in training. */
  encode(tokenEmbeddings: tf.Tensor3D, tokenIds: tf.Tensor2D, attentionMask: tf.Tensor2D, dropout?: Dropout): tf.Tensor3D
  /** [batch, seq, hidden] → [batch, hidden]. */
  pool(hiddenStates: tf.Tensor3D, attentionMask: tf.Tensor2D, pooling: Pooling): tf.Tensor2D
  /** The same architecture with its own copy of the weights. */
  copy(options: { readonly trainable: boolean }): Encoder
}
