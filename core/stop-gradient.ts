import * as tf from "@tensorflow/tfjs"

/**
 * The value of x, through which no gradient flows (PyTorch's `.detach()` inside a tape).
 * tfjs has no such op; a custom gradient that returns zeros is one.
 */
export const stopGradient: <T extends tf.Tensor>(x: T) => T = tf.customGrad((x) => ({
  value: (x as tf.Tensor).clone(),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy)
})) as <T extends tf.Tensor>(x: T) => T
