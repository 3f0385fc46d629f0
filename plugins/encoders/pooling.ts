import * as tf from "@tensorflow/tfjs"
import { dense } from "../../core/dense.ts"
import type { ParameterSet } from "../../core/parameters.ts"
import type { Pooling } from "./encoder.ts"

const firstToken = (hiddenStates: tf.Tensor3D): tf.Tensor2D => {
  const [batch, , hidden] = hiddenStates.shape
  return tf.reshape(tf.slice(hiddenStates, [0, 0, 0], [batch, 1, hidden]), [batch, hidden])
}

export const meanOverRealTokens = (hiddenStates: tf.Tensor3D, attentionMask: tf.Tensor2D): tf.Tensor2D =>
  tf.tidy(() => {
    const mask = tf.expandDims(attentionMask, -1)
    return tf.div(tf.sum(tf.mul(hiddenStates, mask), 1), tf.maximum(tf.sum(mask, 1), 1)) as tf.Tensor2D
  })

/**
 * Pooling for encoders with a BERT-style pooler (`pooler.dense.*`). CARL's "cls" keeps the
 * pooler's dense layer and drops its tanh.
 */
export const poolWithPooler = (
  parameters: ParameterSet,
  hiddenStates: tf.Tensor3D,
  attentionMask: tf.Tensor2D,
  pooling: Pooling
): tf.Tensor2D =>
  tf.tidy(() => {
    if (pooling === "mean") return meanOverRealTokens(hiddenStates, attentionMask)
    const projected = dense(
      firstToken(hiddenStates),
      parameters.get("pooler.dense.weight") as tf.Tensor2D,
      parameters.get("pooler.dense.bias") as tf.Tensor1D
    )
    return pooling === "pooler" ? tf.tanh(projected) : projected
  })
