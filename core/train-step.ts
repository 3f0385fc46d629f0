/**
 * One optimisation step of any graph: a training pass, a finite-loss check, the optimiser
 * update, then each plugin's after-step hook (the momentum target moves here, Eq. 1).
 */
import * as tf from "@tensorflow/tfjs"
import type { AdamW } from "./adamw.ts"
import { runTrainingPass, type StepClock, type WarnOnce } from "./executor.ts"
import type { Graph } from "./graph.ts"

export interface StepReport {
  /** Optimiser steps taken, this one included. */
  readonly step: number
  /** Every scalar port of the pass (losses, the objective, perturbationNorm) and gradientNorm. */
  readonly scalars: Readonly<Record<string, number>>
  /** False when a scalar was NaN or ±Inf: the weights were left as they were. */
  readonly finite: boolean
}

/** ‖g‖₂ over every weight's gradient together, as torch.nn.utils.clip_grad_norm_ measures it. */
const globalNorm = (gradients: ReadonlyMap<tf.Variable, tf.Tensor>): number =>
  tf.tidy(() => {
    const squares = [...gradients.values()].map((gradient) => tf.sum(tf.square(gradient)))
    return squares.length === 0 ? 0 : Math.sqrt(tf.addN(squares).dataSync()[0] ?? Number.NaN)
  })

export const trainStep = (
  graph: Graph,
  optimizer: AdamW,
  inputs: Readonly<Record<string, tf.Tensor>>,
  clock: StepClock,
  options: { readonly learningRate?: number; readonly warnOnce?: WarnOnce; readonly clipGradientNorm?: number } = {}
): StepReport => {
  const pass = runTrainingPass(graph, inputs, clock, options.warnOnce ?? (() => {}))
  const scalars: Record<string, number> = {}
  for (const [port, value] of pass.values) if (value.rank === 0) scalars[port] = value.dataSync()[0] ?? Number.NaN
  const norm = globalNorm(pass.gradients)
  scalars["gradientNorm"] = norm
  const finite = Object.values(scalars).every(Number.isFinite)
  if (finite) {
    const limit = options.clipGradientNorm
    if (limit !== undefined && norm > limit) {
      const scaled = new Map([...pass.gradients].map(([variable, gradient]) => [variable, tf.mul(gradient, limit / norm)]))
      optimizer.apply(scaled, options.learningRate)
      tf.dispose([...scaled.values()])
    } else optimizer.apply(pass.gradients, options.learningRate)
  }
  pass.dispose()
  const step = clock.step + 1
  if (finite) {
    for (const plugin of graph.plugins) plugin.afterStep?.({ step, totalSteps: clock.totalSteps })
  }
  return { step, scalars, finite }
}
