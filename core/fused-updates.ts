/**
 * Weight updates a backend can do in place, without the temporaries tfjs's immutable ops make: the
 * AdamW step (with its moments in host memory, off the backend's own), the momentum target's
 * moving average, and gradient accumulation. A backend registers them under its tfjs name
 * (plugins/backend-native does); core/adamw.ts, the momentum updater and the executor use them when
 * the current backend has them, and tfjs ops otherwise. Both compute the same float32 values.
 */
import * as tf from "@tensorflow/tfjs"

/** AdamW's constants for one step, each as float32 rounds it. */
export interface AdamWStep {
  readonly beta1: number
  readonly beta2: number
  readonly epsilon: number
  /** 1 − lr·weightDecay */
  readonly decay: number
  /** √(1 − β2ᵗ) */
  readonly secondCorrection: number
  /** lr / (1 − β1ᵗ) */
  readonly stepSize: number
}

export interface FusedUpdates {
  /** θ, m, v ← one AdamW step, in place; `first` and `second` are the weight's moments, in host memory. */
  readonly adamw: (weight: tf.Variable, gradient: tf.Tensor, first: Float32Array, second: Float32Array, step: AdamWStep) => void
  /** target ← target·m + online·(1 − m), in place (Eq. 1). */
  readonly movingAverage: (target: tf.Variable, online: tf.Tensor, momentum: number) => void
  /** accumulator ← accumulator + addend in place; false when the accumulator's memory is shared (then add with tfjs). */
  readonly addInto: (accumulator: tf.Tensor, addend: tf.Tensor) => boolean
}

const registry = new Map<string, FusedUpdates>()

export const registerFusedUpdates = (backendName: string, updates: FusedUpdates): void => {
  registry.set(backendName, updates)
}

/** The current backend's in-place updates, if it has them. */
export const fusedUpdates = (): FusedUpdates | undefined => registry.get(tf.getBackend())
