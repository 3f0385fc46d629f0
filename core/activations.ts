import * as tf from "@tensorflow/tfjs"

/** GELU with erf, as BERT and Hugging Face's "gelu": x·Φ(x) = x·(1 + erf(x/√2))/2. */
export const gelu = <T extends tf.Tensor>(x: T): T =>
  tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))) as T)

/** LayerNorm over the last axis: (x − μ)/√(σ² + ε)·γ + β, with ε from the model's config. */
export const layerNorm = <T extends tf.Tensor>(x: T, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number): T =>
  tf.tidy(() => {
    const mean = tf.mean(x, -1, true)
    const centred = tf.sub(x, mean)
    const variance = tf.mean(tf.square(centred), -1, true)
    return tf.add(tf.mul(tf.div(centred, tf.sqrt(tf.add(variance, epsilon))), gamma), beta) as T
  })
