/**
 * What Hugging Face's BertModel and RobertaModel compute, from word embeddings on:
 * position and token-type embeddings, LayerNorm, then per layer self-attention with the
 * padding mask, residual LayerNorm, a GELU (erf) feed-forward, residual LayerNorm. In training,
 * dropout where BertModel has it: the embeddings' output, the attention probabilities, and the
 * attention and feed-forward outputs before their residual sums.
 */
import * as tf from "@tensorflow/tfjs"
import { splitHeads } from "../../../core/attention-heads.ts"
import { gelu, layerNorm } from "../../../core/activations.ts"
import { dense } from "../../../core/dense.ts"
import { dropout, type Dropout } from "../../../core/dropout.ts"
import { embeddingLookup } from "../../../core/embedding-lookup.ts"
import type { ParameterSet } from "../../../core/parameters.ts"
import type { BertConfig } from "./config.ts"
import { layerPrefix } from "./weights.ts"

/** Large enough that exp() of it is 0 in float32, small enough that adding scores stays finite. */
const MASKED_SCORE = -1e9

const linear = (parameters: ParameterSet, name: string, x: tf.Tensor3D): tf.Tensor3D =>
  dense(x, parameters.get(`${name}.weight`) as tf.Tensor2D, parameters.get(`${name}.bias`) as tf.Tensor1D)

const norm = (parameters: ParameterSet, name: string, x: tf.Tensor3D, epsilon: number): tf.Tensor3D =>
  layerNorm(x, parameters.get(`${name}.weight`) as tf.Tensor1D, parameters.get(`${name}.bias`) as tf.Tensor1D, epsilon)

/**
 * BERT counts positions from 0. RoBERTa counts real tokens from padding_idx + 1 and gives padding
 * padding_idx, where "padding" means token id = pad_token_id, not attention mask = 0: Hugging
 * Face's create_position_ids_from_input_ids. The two differ when a real token has the padding id.
 */
export const positionIds = (config: BertConfig, tokenIds: tf.Tensor2D): tf.Tensor2D =>
  tf.tidy(() => {
    const [batch, seq] = tokenIds.shape
    if (config.modelType === "bert") return tf.tile(tf.expandDims(tf.range(0, seq, 1, "int32"), 0), [batch, 1]) as tf.Tensor2D
    const real = tf.cast(tf.notEqual(tokenIds, tf.scalar(config.padTokenId, tokenIds.dtype)), "int32")
    return tf.add(tf.mul(tf.cumsum(real, 1), real), tf.scalar(config.padTokenId, "int32")) as tf.Tensor2D
  })

export const wordEmbeddings = (parameters: ParameterSet, tokenIds: tf.Tensor2D): tf.Tensor3D =>
  embeddingLookup(parameters.get("embeddings.word_embeddings.weight") as tf.Tensor2D, tokenIds) as tf.Tensor3D

const inputEmbeddings = (
  parameters: ParameterSet,
  config: BertConfig,
  words: tf.Tensor3D,
  tokenIds: tf.Tensor2D,
  noise: Dropout | undefined
): tf.Tensor3D =>
  tf.tidy(() => {
    const positions = embeddingLookup(
      parameters.get("embeddings.position_embeddings.weight") as tf.Tensor2D,
      positionIds(config, tokenIds)
    )
    // One segment: every token has type 0.
    const tokenType = tf.slice(parameters.get("embeddings.token_type_embeddings.weight"), [0, 0], [1, config.hiddenSize])
    const embedded = norm(parameters, "embeddings.LayerNorm", tf.add(tf.add(words, positions), tokenType) as tf.Tensor3D, config.layerNormEps)
    return dropout(embedded, noise?.hidden ?? 0, noise)
  })


const selfAttention = (
  parameters: ParameterSet,
  config: BertConfig,
  prefix: string,
  x: tf.Tensor3D,
  scoreBias: tf.Tensor4D,
  noise: Dropout | undefined
): tf.Tensor3D =>
  tf.tidy(() => {
    const heads = config.numAttentionHeads
    const [batch, seq, hidden] = x.shape
    const query = splitHeads(linear(parameters, `${prefix}.attention.self.query`, x), heads)
    // Keys transposed explicitly so the batched matMul runs without transpose flags.
    const keysT = tf.transpose(tf.reshape(linear(parameters, `${prefix}.attention.self.key`, x), [batch, seq, heads, hidden / heads]), [0, 2, 3, 1])
    const value = splitHeads(linear(parameters, `${prefix}.attention.self.value`, x), heads)
    const scores = tf.add(tf.div(tf.matMul(query, keysT), Math.sqrt(hidden / heads)), scoreBias)
    const context = tf.matMul(dropout(tf.softmax(scores, -1), noise?.attention ?? 0, noise), value)
    const merged = tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [batch, seq, hidden]) as tf.Tensor3D
    return dropout(linear(parameters, `${prefix}.attention.output.dense`, merged), noise?.hidden ?? 0, noise)
  })

const transformerLayer = (
  parameters: ParameterSet,
  config: BertConfig,
  index: number,
  x: tf.Tensor3D,
  scoreBias: tf.Tensor4D,
  noise: Dropout | undefined
): tf.Tensor3D =>
  tf.tidy(() => {
    const prefix = layerPrefix(index)
    const eps = config.layerNormEps
    const attended = norm(parameters, `${prefix}.attention.output.LayerNorm`, tf.add(x, selfAttention(parameters, config, prefix, x, scoreBias, noise)), eps)
    const expanded = gelu(linear(parameters, `${prefix}.intermediate.dense`, attended))
    const output = dropout(linear(parameters, `${prefix}.output.dense`, expanded), noise?.hidden ?? 0, noise)
    return norm(parameters, `${prefix}.output.LayerNorm`, tf.add(attended, output), eps)
  })

export const bertHiddenStates = (
  parameters: ParameterSet,
  config: BertConfig,
  words: tf.Tensor3D,
  tokenIds: tf.Tensor2D,
  attentionMask: tf.Tensor2D,
  noise?: Dropout
): tf.Tensor3D =>
  tf.tidy(() => {
    const [batch, seq] = attentionMask.shape
    const scoreBias = tf.reshape(tf.mul(tf.sub(1, attentionMask), MASKED_SCORE), [batch, 1, 1, seq]) as tf.Tensor4D
    let x = inputEmbeddings(parameters, config, words, tokenIds, noise)
    for (let i = 0; i < config.numHiddenLayers; i++) x = transformerLayer(parameters, config, i, x, scoreBias, noise)
    return x
  })
