/**
 * What the shipped USE-lite graph computes from word embeddings E to the last hidden states
 * (ARCHITECTURE.md §3.2–3.7), on a [batch, seq] batch:
 *   x0 = (2·E + T) ⊙ mask                          (the doubling is in the graph, §3.4)
 *   layer l: y = R(x) + MHA(LN_a(x)), z = y + FFN(LN_f(y)) ⊙ mask
 *            R = dense 256 → 512 (⊙ mask) in layer 0, the identity in layer 1
 *   no final layer norm.
 * The graph gathers the real tokens, computes the residual projection and FFN on them and
 * scatters them back (zeros at padding). So does this: every per-token step (layer norms, dense
 * layers, residual sums) runs on the packed real tokens (core/token-packing.ts), and only
 * attention on the [batch, seq] layout. Hidden states at padding are zeros, which nothing reads:
 * attention masks padded keys, and pooling averages over real tokens.
 */
import * as tf from "@tensorflow/tfjs"
import { splitHeads } from "../../../core/attention-heads.ts"
import { layerNorm } from "../../../core/activations.ts"
import { dense } from "../../../core/dense.ts"
import { dropout, type Dropout } from "../../../core/dropout.ts"
import { embeddingLookup } from "../../../core/embedding-lookup.ts"
import type { ParameterSet } from "../../../core/parameters.ts"
import {
  USE_LITE_EMBEDDING_SIZE,
  USE_LITE_LAYER_NORM_EPSILON,
  USE_LITE_LAYERS,
  USE_LITE_MASKED_SCORE,
  USE_LITE_MAX_LENGTH,
  type UseLiteLayer
} from "./config.ts"
import { tokenPacking, type TokenPacking } from "../../../core/token-packing.ts"
import { timingSignal } from "./timing-signal.ts"
import { layerPrefix } from "./weights.ts"

const linear = <T extends tf.Tensor>(parameters: ParameterSet, name: string, x: T): T =>
  dense(x, parameters.get(`${name}.weight`) as tf.Tensor2D, parameters.get(`${name}.bias`) as tf.Tensor1D)

const norm = <T extends tf.Tensor>(parameters: ParameterSet, name: string, x: T): T =>
  layerNorm(x, parameters.get(`${name}.weight`) as tf.Tensor1D, parameters.get(`${name}.bias`) as tf.Tensor1D, USE_LITE_LAYER_NORM_EPSILON)

/**
 * The mask with positions ≥ 128 cleared (ClipToMaxLength, §3.1): a longer input behaves as if
 * its extra tokens were padding. The tokenizer's batch already truncates; this covers other callers.
 */
export const clipToMaxLength = (attentionMask: tf.Tensor2D): tf.Tensor2D =>
  tf.tidy(() => {
    const [batch, seq] = attentionMask.shape
    if (seq <= USE_LITE_MAX_LENGTH) return tf.clone(attentionMask)
    const kept = tf.concat([tf.ones([batch, USE_LITE_MAX_LENGTH]), tf.zeros([batch, seq - USE_LITE_MAX_LENGTH])], 1)
    return tf.mul(attentionMask, kept) as tf.Tensor2D
  })

/**
 * E at real tokens, 0 at padding (id −1, as the graph's SparseToDense default). Padding ids are
 * clamped to row 0 for the lookup and then zeroed, so the table's gradient there is 0.
 */
export const wordEmbeddings = (parameters: ParameterSet, tokenIds: tf.Tensor2D): tf.Tensor3D =>
  tf.tidy(() => {
    const real = tf.expandDims(tf.cast(tf.greaterEqual(tokenIds, 0), "float32"), -1)
    const rows = embeddingLookup(parameters.get("embeddings.weight") as tf.Tensor2D, tf.maximum(tokenIds, tf.scalar(0, "int32")))
    return tf.mul(rows, real) as tf.Tensor3D
  })


/**
 * §3.6 steps 3–7 on packed tokens: one 1×1-conv QKV map, queries scaled by 1/√dₕ before the dot
 * product, W_o. Attention itself runs on the [batch, seq] layout, padding as zero rows.
 */
const selfAttention = (
  parameters: ParameterSet,
  prefix: string,
  layer: UseLiteLayer,
  x: tf.Tensor2D,
  packing: TokenPacking,
  scoreBias: tf.Tensor4D,
  noise: Dropout | undefined
): tf.Tensor2D =>
  tf.tidy(() => {
        const { heads, attentionSize } = layer
    const headSize = attentionSize / heads
    const qkv = packing.unpack(linear(parameters, `${prefix}.attention.qkv`, x))
    const [batch, seq] = qkv.shape
    const [q, k, v] = tf.split(qkv, 3, 2) as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D]
    const query = tf.mul(splitHeads(q, heads), Math.fround(1 / Math.sqrt(headSize)))
    // Keys transposed explicitly so the batched matMul runs without transpose flags (as in bert/forward.ts).
    const keysT = tf.transpose(tf.reshape(k, [batch, seq, heads, headSize]), [0, 2, 3, 1])
    const scores = tf.add(tf.matMul(query, keysT), scoreBias)
    const context = tf.matMul(dropout(tf.softmax(scores, -1), noise?.attention ?? 0, noise), splitHeads(v, heads))
    const merged = packing.pack(tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [batch, seq, attentionSize]) as tf.Tensor3D)
    return dropout(linear(parameters, `${prefix}.attention.output`, merged), noise?.hidden ?? 0, noise)
  })

/** One layer on packed tokens [tokens, width]. */
const transformerLayer = (
  parameters: ParameterSet,
  index: number,
  layer: UseLiteLayer,
  x: tf.Tensor2D,
  packing: TokenPacking,
  scoreBias: tf.Tensor4D,
  noise: Dropout | undefined
): tf.Tensor2D =>
  tf.tidy(() => {
    const prefix = layerPrefix(index)
    // The projection reads x itself, not LN(x) (AdjustResidualInput, §3.6 step 1).
    const residual = layer.projectResidual ? linear(parameters, `${prefix}.residual`, x) : x
    const attended = tf.add(residual, selfAttention(parameters, prefix, layer, norm(parameters, `${prefix}.attention.layer_norm`, x), packing, scoreBias, noise))
    const hidden = tf.relu(linear(parameters, `${prefix}.ffn.conv1`, norm(parameters, `${prefix}.ffn.layer_norm`, attended)))
    const ffn = dropout(linear(parameters, `${prefix}.ffn.conv2`, hidden), noise?.hidden ?? 0, noise)
    return tf.add(attended, ffn) as tf.Tensor2D
  })

/**
 * The last hidden states, zeros at padding. USE-lite was trained without dropout; carl can add it
 * (model.dropout) on the scaled embeddings, the attention probabilities, and the attention and FFN
 * outputs before their residual sums, as BERT has it.
 */
export const useLiteHiddenStates = (parameters: ParameterSet, words: tf.Tensor3D, attentionMask: tf.Tensor2D, noise?: Dropout): tf.Tensor3D =>
  tf.tidy(() => {
    const mask = clipToMaxLength(attentionMask)
    const [batch, seq] = mask.shape
    const packing = tokenPacking(mask)
    const scoreBias = tf.reshape(tf.mul(tf.sub(1, mask), USE_LITE_MASKED_SCORE), [batch, 1, 1, seq]) as tf.Tensor4D
    const positions = tf.expandDims(timingSignal(seq, USE_LITE_EMBEDDING_SIZE), 0)
    let x = dropout(packing.pack(tf.add(tf.mul(words, 2), positions) as tf.Tensor3D), noise?.hidden ?? 0, noise)
    USE_LITE_LAYERS.forEach((layer, index) => {
      x = transformerLayer(parameters, index, layer, x, packing, scoreBias, noise)
    })
    return packing.unpack(x)
  })
