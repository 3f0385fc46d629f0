/**
 * The target network follows the online one by an exponential moving average (Eq. 1) whose
 * momentum is annealed from m₀ to 1 on a cosine schedule (Eq. 2):
 *
 *   θ_t ← m·θ_t + (1 − m)·θ_o                          (Eq. 1)
 *   m(k) = 1 − (1 − m₀)·(cos(π·k/K) + 1)/2             (Eq. 2)   m(0) = m₀, m(K) = 1
 */
import { defaultConfig } from "../config.ts"
import * as tf from "@tensorflow/tfjs"
import { fusedUpdates } from "../../../core/backend-extras.ts"
import type { ParameterSet } from "../../../core/parameters.ts"

/** The configuration's m₀ (plugins/carl/config.ts). */
export const DEFAULT_INITIAL_MOMENTUM = defaultConfig().momentum.initial

/** m(k) of Eq. 2; steps past K stay at 1. */
export const momentumAt = (step: number, totalSteps: number, initial = DEFAULT_INITIAL_MOMENTUM): number => {
  if (totalSteps <= 0) return 1
  const progress = Math.min(Math.max(step / totalSteps, 0), 1)
  return 1 - ((1 - initial) * (Math.cos(Math.PI * progress) + 1)) / 2
}

/** Eq. 1 over every weight the two sets share by name; in place where the backend can (core/backend-extras.ts). */
export const updateMovingAverage = (target: ParameterSet, online: ParameterSet, momentum: number): void => {
  const fused = fusedUpdates()
  for (const [name, targetWeight] of target.entries()) {
    const onlineWeight = online.get(name)
    if (fused !== undefined) fused.movingAverage(targetWeight, onlineWeight, momentum)
    else tf.tidy(() => targetWeight.assign(tf.add(tf.mul(targetWeight, momentum), tf.mul(onlineWeight, 1 - momentum))))
  }
}
