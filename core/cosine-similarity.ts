import * as tf from "@tensorflow/tfjs"

/** Below this norm a vector counts as zero: its cosine with anything is 0 (EQUATIONS.md, Eq. 3–4). */
export const COSINE_NORM_FLOOR = 1e-8

/**
 * Rows divided by max(‖row‖₂, 1e-8). The floor is applied to the squared norm before the square
 * root, so a zero row has a finite gradient (√ at 0 would give 0·∞ = NaN).
 */
export const unitRows = (x: tf.Tensor2D): tf.Tensor2D =>
  tf.tidy(() => {
    const squaredNorm = tf.sum(tf.square(x), 1, true)
    return tf.div(x, tf.sqrt(tf.maximum(squaredNorm, COSINE_NORM_FLOOR * COSINE_NORM_FLOOR)))
  })

/**
 * C[i, j] = cos(a_i, b_j) = a_i·b_j / (max(‖a_i‖, 1e-8)·max(‖b_j‖, 1e-8)).
 * Equal to EQUATIONS.md's a·b / max(‖a‖‖b‖, 1e-8) whenever both norms are at least 1e-8, and
 * 0 for a zero vector, as it requires; normalising each side first keeps ‖a‖‖b‖ from overflowing.
 */
export const cosineMatrix = (a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D =>
  tf.tidy(() => tf.matMul(unitRows(a), tf.transpose(unitRows(b))))
