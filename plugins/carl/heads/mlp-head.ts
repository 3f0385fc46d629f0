/**
 * BYOL's projector and predictor: dense → BatchNorm → ReLU → dense. The projection maps the
 * pooled sentence vector to z (online and target); the prediction maps the online z to p,
 * which MCCL compares with the target z (Eq. 3). BatchNorm normalises with the batch's own
 * statistics, as in BYOL's training; the heads are only used in training.
 */
import * as tf from "@tensorflow/tfjs"
import { dense } from "../../../core/dense.ts"
import { denseWeights, layerNormWeights } from "../../../core/initializers.ts"
import { ParameterSet } from "../../../core/parameters.ts"
import type { SeededRandom } from "../../../core/random.ts"

const BATCH_NORM_EPSILON = 1e-5

export interface MlpHeadShape {
  readonly inFeatures: number
  readonly hiddenFeatures: number
  readonly outFeatures: number
}

export const initMlpHead = (random: SeededRandom, shape: MlpHeadShape, options: { trainable: boolean }) => {
  const tensors = [
    ...denseWeights(random, "dense1", shape.inFeatures, shape.hiddenFeatures),
    ...layerNormWeights("norm", shape.hiddenFeatures),
    ...denseWeights(random, "dense2", shape.hiddenFeatures, shape.outFeatures)
  ]
  const parameters = ParameterSet.fromTensors(tensors, options)
  for (const [, tensor] of tensors) tensor.dispose()
  return parameters
}

export const mlpHeadForward = (parameters: ParameterSet, x: tf.Tensor2D): tf.Tensor2D =>
  tf.tidy(() => {
    const hidden = dense(x, parameters.get("dense1.weight") as tf.Tensor2D, parameters.get("dense1.bias") as tf.Tensor1D)
    const { mean, variance } = tf.moments(hidden, 0)
    const normalised = tf.add(
      tf.mul(tf.div(tf.sub(hidden, mean), tf.sqrt(tf.add(variance, BATCH_NORM_EPSILON))), parameters.get("norm.weight")),
      parameters.get("norm.bias")
    )
    return dense(
      tf.relu(normalised) as tf.Tensor2D,
      parameters.get("dense2.weight") as tf.Tensor2D,
      parameters.get("dense2.bias") as tf.Tensor1D
    )
  })
