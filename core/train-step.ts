/**
 * One optimisation step of any graph: a training pass, a finite check, the optimiser update,
 * then each plugin's after-step hook (the momentum target moves here, Eq. 1).
 *
 * The finite check covers every scalar port (each loss, the objective, the perturbation norm)
 * and the global gradient norm: one NaN or ±Inf in any gradient element makes the norm NaN or
 * Inf, as does a gradient so large its squares overflow float32 (‖g‖ > ~1.8e19). Then neither the
 * optimiser nor the after-step hooks run: the weights, the AdamW moments and the momentum target
 * are left exactly as they were.
 */
import * as tf from "@tensorflow/tfjs"
import type { AdamW } from "./adamw.ts"
import { runTrainingPass, type PassOptions, type StepClock, type WarnOnce } from "./executor.ts"
import type { Graph } from "./graph.ts"
import { HeapExhausted } from "./out-of-memory.ts"
import { faultAtStep, nanGradientAt } from "./test-faults.ts"

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

/** CARL_TEST_FAULT=nan-gradient:<step> (core/test-faults.ts): ‖g‖ of the gradients with the first one made NaN. */
const normWithNanGradient = (gradients: ReadonlyMap<tf.Variable, tf.Tensor>): number => {
  const [first, ...rest] = [...gradients]
  if (first === undefined) return Number.NaN
  const poisoned = tf.mul(first[1], Number.NaN)
  const norm = globalNorm(new Map([[first[0], poisoned], ...rest]))
  poisoned.dispose()
  return norm
}

/** CARL_TEST_FAULT=heap-full:<step> or js-heap:<step> (core/test-faults.ts): the step runs out of memory. */
const injectMemoryFaults = (step: number): void => {
  if (faultAtStep("heap-full", step)) throw new HeapExhausted(256 * 2 ** 20, 4096 * 2 ** 20)
  if (faultAtStep("js-heap", step)) {
    const filler: Array<Array<number>> = []
    for (;;) filler.push(Array.from({ length: 1 << 20 }, (_, i) => i + filler.length))
  }
}

export const trainStep = (
  graph: Graph,
  optimizer: AdamW,
  inputs: Readonly<Record<string, tf.Tensor>>,
  clock: StepClock,
  options: {
    readonly learningRate?: number
    readonly warnOnce?: WarnOnce
    readonly clipGradientNorm?: number
    /** Micro-batches of the pass (core/executor.ts): the same step in less memory. */
    readonly pass?: PassOptions
  } = {}
): StepReport => {
  injectMemoryFaults(clock.step + 1)
  const pass = runTrainingPass(graph, inputs, clock, options.warnOnce ?? (() => {}), options.pass)
  const scalars: Record<string, number> = {}
  for (const [port, value] of pass.values) if (value.rank === 0) scalars[port] = value.dataSync()[0] ?? Number.NaN
  const norm = nanGradientAt(clock.step + 1) ? normWithNanGradient(pass.gradients) : globalNorm(pass.gradients)
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
