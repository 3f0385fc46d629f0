/**
 * One optimisation step of any graph: a training pass, a finite-loss check, the optimiser
 * update, then each plugin's after-step hook (the momentum target moves here, Eq. 1).
 */
import type * as tf from "@tensorflow/tfjs"
import type { AdamW } from "./adamw.ts"
import { runTrainingPass, type StepClock, type WarnOnce } from "./executor.ts"
import type { Graph } from "./graph.ts"

export interface StepReport {
  /** Optimiser steps taken, this one included. */
  readonly step: number
  /** Every scalar port of the pass: losses, the objective, diagnostics such as perturbationNorm. */
  readonly scalars: Readonly<Record<string, number>>
  /** False when a scalar was NaN or ±Inf: the weights were left as they were. */
  readonly finite: boolean
}

export const trainStep = (
  graph: Graph,
  optimizer: AdamW,
  inputs: Readonly<Record<string, tf.Tensor>>,
  clock: StepClock,
  options: { readonly learningRate?: number; readonly warnOnce?: WarnOnce } = {}
): StepReport => {
  const pass = runTrainingPass(graph, inputs, clock, options.warnOnce ?? (() => {}))
  const scalars: Record<string, number> = {}
  for (const [port, value] of pass.values) if (value.rank === 0) scalars[port] = value.dataSync()[0] ?? Number.NaN
  const finite = Object.values(scalars).every(Number.isFinite)
  if (finite) optimizer.apply(pass.gradients, options.learningRate)
  pass.dispose()
  const step = clock.step + 1
  if (finite) {
    for (const plugin of graph.plugins) plugin.afterStep?.({ step, totalSteps: clock.totalSteps })
  }
  return { step, scalars, finite }
}
