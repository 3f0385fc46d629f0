/**
 * A linear valence–arousal regressor on the pooled sentence vector, trained with mean squared
 * error: the plain supervised baseline that CARL's contrastive objective is compared with.
 */
import * as tf from "@tensorflow/tfjs"
import { dense } from "../../../core/dense.ts"
import { denseWeights } from "../../../core/initializers.ts"
import { ParameterSet } from "../../../core/parameters.ts"
import { definePlugin } from "../../../core/plugin.ts"
import { lossPort } from "../../../core/ports.ts"
import { Ports } from "../ports.ts"
import type { SeededRandom } from "../../../core/random.ts"

export const vaRegressionLoss = lossPort("vaRegression", "mean squared error of predicted valence and arousal")

export const initVaRegressionHead = (random: SeededRandom, hiddenSize: number): ParameterSet => {
  const tensors = denseWeights(random, "dense", hiddenSize, 2)
  const parameters = ParameterSet.fromTensors(tensors, { trainable: true })
  for (const [, tensor] of tensors) tensor.dispose()
  return parameters
}

export const vaRegressionHead = (parameters: ParameterSet) =>
  definePlugin({
    name: "va-regression",
    needs: [Ports.sentenceEmbedding, Ports.vaLabels],
    gives: [vaRegressionLoss],
    parameters: [parameters],
    run: ({ sentenceEmbedding, vaLabels }) => {
      const predicted = dense(sentenceEmbedding, parameters.get("dense.weight") as tf.Tensor2D, parameters.get("dense.bias") as tf.Tensor1D)
      return { "loss.vaRegression": tf.tidy(() => tf.mean(tf.squaredDifference(predicted, vaLabels)) as tf.Scalar) }
    }
  })
