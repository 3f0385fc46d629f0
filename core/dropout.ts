/**
 * Dropout as Hugging Face's encoders train with it: each element kept with probability 1 − p and
 * scaled by 1/(1 − p), on in training and off in evaluation. The masks come from uniform noise
 * seeded by a key (the run's seed, which forward pass, the step, the micro-batch's first row) and
 * the order of the calls, so the same step draws the same masks again: in GradCache's second
 * forward, in a gradient taken again at e + δ, and in a resumed run.
 */
import * as tf from "@tensorflow/tfjs"

export interface DropoutRates {
  /** Hidden states: after the embeddings, the attention output and the feed-forward output. */
  readonly hidden: number
  /** Attention probabilities. */
  readonly attention: number
}

export const NO_DROPOUT: DropoutRates = { hidden: 0, attention: 0 }

/** The rates and the noise of one forward pass. */
export interface Dropout extends DropoutRates {
  /** Uniform [0, 1) noise of this shape: the next draw of this pass's stream. */
  uniform(shape: ReadonlyArray<number>): tf.Tensor
}

/** A 31-bit seed from a key: FNV-1a over the numbers' 32-bit words. */
const seedOf = (key: ReadonlyArray<number>): number => {
  let hash = 0x811c9dc5
  for (const value of key) {
    const word = Math.trunc(value) >>> 0
    for (let shift = 0; shift < 32; shift += 8) {
      hash ^= (word >>> shift) & 0xff
      hash = Math.imul(hash, 0x01000193) >>> 0
    }
  }
  return hash & 0x7fffffff
}

/** A pass's dropout: draw k of it is seeded by [...key, k]. */
export const seededDropout = (rates: DropoutRates, key: ReadonlyArray<number>): Dropout => {
  let draw = 0
  return { ...rates, uniform: (shape) => tf.randomUniform([...shape], 0, 1, "float32", seedOf([...key, draw++])) }
}

/** x with each element dropped with probability `rate` and the rest scaled by 1/(1 − rate); x itself without dropout. */
export const dropout = <T extends tf.Tensor>(x: T, rate: number, noise: Dropout | undefined): T => {
  if (noise === undefined || rate <= 0) return x
  return tf.tidy(() => {
    const kept = tf.cast(tf.greaterEqual(noise.uniform(x.shape), rate), "float32")
    return tf.mul(x, tf.mul(kept, 1 / (1 - rate))) as T
  })
}
