/**
 * What a backend plugin adds beyond tfjs's kernels, registered under the backend's tfjs name
 * (plugins/backends/native does) and used by core when the current backend has it:
 *   - weight updates in place, without the temporaries tfjs's immutable ops make: the AdamW step
 *     (its moments in host memory, off the backend's own), the momentum target's moving average,
 *     gradient accumulation (core/adamw.ts, the momentum updater, the executor; tfjs ops otherwise,
 *     with the same float32 values);
 *   - matrix products whose transpose flags cost nothing (BLAS): dense layers then pass flags
 *     instead of transposing (core/dense.ts).
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

export interface BackendExtras {
  readonly updates?: FusedUpdates
  /** Matrix products take transpose flags (and a 1×N product for a column sum) at no extra cost. */
  readonly flaggedMatMul?: boolean
}

const registry = new Map<string, BackendExtras>()

export const registerBackendExtras = (backendName: string, extras: BackendExtras): void => {
  registry.set(backendName, extras)
}

/** What the current backend adds, if anything. */
export const backendExtras = (): BackendExtras => registry.get(tf.getBackend()) ?? {}

/** The current backend's in-place updates, if it has them. */
export const fusedUpdates = (): FusedUpdates | undefined => backendExtras().updates
