/**
 * y = x·W + b for x of any rank, W in tfjs layout [in, out].
 *
 * On the wasm backend the backward pass is written with explicit transposes and plain (unflagged,
 * unbatched) matMuls: there a matMul with transpose flags runs ~10x slower than one without, and
 * measured here the whole dense backward trains ~5x faster this way. On a backend whose matrix
 * products take the flags for free (BLAS: the native ones, core/backend-extras.ts), the transposes
 * (and the bias gradient's column sum, a reduction over the non-contiguous axis) become matrix
 * products instead.
 */
import * as tf from "@tensorflow/tfjs"
import { backendExtras } from "./backend-extras.ts"

const denseCore = tf.customGrad((x, weight, bias, save) => {
  const input = x as tf.Tensor2D
  const w = weight as tf.Tensor2D
  const b = bias as tf.Tensor1D
  const saveTensors = save as tf.GradSaveFunc
  saveTensors([input, w])
  const onBlas = backendExtras().flaggedMatMul === true
  return {
    value: onBlas ? tf.fused.matMul({ a: input, b: w, bias: b }) : tf.add(tf.matMul(input, w), b),
    gradFunc: (dy: tf.Tensor, saved: Array<tf.Tensor>) => {
      const [savedInput, savedWeight] = saved as [tf.Tensor2D, tf.Tensor2D]
      const upstream = dy as tf.Tensor2D
      if (onBlas) {
        return [
          tf.matMul(upstream, savedWeight, false, true),
          tf.matMul(savedInput, upstream, true, false),
          tf.reshape(tf.matMul(tf.ones([1, upstream.shape[0]]), upstream), [upstream.shape[1]])
        ]
      }
      return [
        tf.matMul(upstream, tf.transpose(savedWeight)),
        tf.matMul(tf.transpose(savedInput), upstream),
        tf.sum(upstream, 0)
      ]
    }
  }
})

export const dense = <T extends tf.Tensor>(x: T, weight: tf.Tensor2D, bias: tf.Tensor1D): T =>
  tf.tidy(() => {
    const inFeatures = x.shape[x.rank - 1] ?? 0
    const flat = tf.reshape(x, [-1, inFeatures])
    const y = denseCore(flat, weight, bias)
    return tf.reshape(y, [...x.shape.slice(0, -1), weight.shape[1]]) as T
  })

/** The reference formulation, for tests: tfjs's own matMul and its own gradient. */
export const denseReference = <T extends tf.Tensor>(x: T, weight: tf.Tensor2D, bias: tf.Tensor1D): T =>
  tf.tidy(() => {
    const inFeatures = x.shape[x.rank - 1] ?? 0
    const y = tf.add(tf.matMul(tf.reshape(x, [-1, inFeatures]) as tf.Tensor2D, weight), bias)
    return tf.reshape(y, [...x.shape.slice(0, -1), weight.shape[1]]) as T
  })
