/**
 * Π_B(e,ε) of Eq. 9: each token's perturbation δ_t is projected onto the L2 ball of radius ε,
 *   δ_t ← δ_t·min(1, ε/‖δ_t‖₂).
 * The norm is taken on δ_t/max|δ_t| and scaled back, so perturbations near ε = 5e-9 neither
 * underflow when squared nor lose precision. ε is one radius, or one per token ([..., 1]).
 */
import * as tf from "@tensorflow/tfjs"

export const projectToEpsBall = <T extends tf.Tensor>(delta: T, epsilon: number | tf.Tensor): T =>
  tf.tidy(() => {
    const largest = tf.max(tf.abs(delta), -1, true)
    const safeLargest = tf.where(tf.greater(largest, 0), largest, tf.onesLike(largest))
    const norm = tf.mul(tf.sqrt(tf.sum(tf.square(tf.div(delta, safeLargest)), -1, true)), safeLargest)
    const safeNorm = tf.where(tf.greater(norm, 0), norm, tf.onesLike(norm))
    const scale = tf.minimum(1, tf.div(epsilon, safeNorm))
    return tf.mul(delta, scale) as T
  })
