/**
 * The perturbed-token detection head, ELECTRA's discriminator shape: dense → GELU → dense → one
 * logit per token, on the encoder's last hidden states of the perturbed sequence (Eq. 10).
 */
import * as tf from "@tensorflow/tfjs"
import { gelu } from "../../../core/activations.ts"
import { dense } from "../../../core/dense.ts"
import { denseWeights } from "../../../core/initializers.ts"
import { ParameterSet } from "../../../core/parameters.ts"
import type { SeededRandom } from "../../../core/random.ts"

export const initTokenHead = (random: SeededRandom, hiddenSize: number): ParameterSet => {
  const tensors = [...denseWeights(random, "dense", hiddenSize, hiddenSize), ...denseWeights(random, "out", hiddenSize, 1)]
  const parameters = ParameterSet.fromTensors(tensors, { trainable: true })
  for (const [, tensor] of tensors) tensor.dispose()
  return parameters
}

/** [batch, seq, hidden] → [batch, seq] logits. */
export const tokenHeadLogits = (parameters: ParameterSet, hiddenStates: tf.Tensor3D): tf.Tensor2D =>
  tf.tidy(() => {
    const hidden = gelu(dense(hiddenStates, parameters.get("dense.weight") as tf.Tensor2D, parameters.get("dense.bias") as tf.Tensor1D))
    const logits = dense(hidden, parameters.get("out.weight") as tf.Tensor2D, parameters.get("out.bias") as tf.Tensor1D)
    return tf.squeeze(logits, [2]) as tf.Tensor2D
  })
