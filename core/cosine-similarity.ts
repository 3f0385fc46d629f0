import * as tf from "@tensorflow/tfjs"
import { stopGradient } from "./stop-gradient.ts"

/** EQUATIONS.md, Eqs. 3–4: the cosine's denominator is max(‖a‖·‖b‖, 1e-8). */
export const COSINE_DENOMINATOR_FLOOR = 1e-8

/** Smallest row scale: s² stays a normal float32, so nothing divides by an underflowed 0. */
const SCALE_FLOOR = 1e-18

/** Keeps √ away from 0 for a zero row, where its gradient would be 0·∞. */
const SQUARED_NORM_FLOOR = 1e-30

/**
 * Each row divided by a scale s near its largest |entry|, so squares cannot overflow. The cosine
 * below is the same for any s > 0, so s is held constant under differentiation: exact, and it
 * keeps the extreme intermediate gradients of the floor out of the result.
 */
const scaledRows = (x: tf.Tensor2D) => {
  const scale = stopGradient(tf.maximum(tf.max(tf.abs(x), 1, true), SCALE_FLOOR))
  const scaled = tf.div(x, scale)
  const norm = tf.sqrt(tf.maximum(tf.sum(tf.square(scaled), 1, true), SQUARED_NORM_FLOOR))
  return { scale, scaled, norm }
}

/**
 * C[i, j] = a_i·b_j / max(‖a_i‖·‖b_j‖, 1e-8): a zero vector (a neutral (0, 0) label) has cosine 0
 * with everything, never NaN. With a = s_a·ã and b = s_b·b̃ (s the row's largest |entry|) this is
 * ã·b̃ / max(‖ã‖·‖b̃‖, 1e-8/(s_a·s_b)), which neither overflows for huge rows nor divides by 0.
 */
export const cosineMatrix = (a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D =>
  tf.tidy(() => {
    const left = scaledRows(a)
    const right = scaledRows(b)
    const dots = tf.matMul(left.scaled, tf.transpose(right.scaled))
    const norms = tf.matMul(left.norm, tf.transpose(right.norm))
    const floor = tf.div(COSINE_DENOMINATOR_FLOOR, tf.matMul(left.scale, tf.transpose(right.scale)))
    return tf.div(dots, tf.maximum(norms, floor)) as tf.Tensor2D
  })
