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

/**
 * Seams for fault tests (pipelines/test-faults.ts sets them): a hook run before each step's pass
 * (it may throw, as running out of memory does), and whether a step's gradients are to be
 * poisoned with a NaN, as an overflow would leave them.
 */
export interface StepFaults {
  readonly beforePass: (step: number) => void
  readonly nanGradient: (step: number) => boolean
}

let stepFaults: StepFaults = { beforePass: () => {}, nanGradient: () => false }

export const setStepFaults = (faults: StepFaults): void => {
  stepFaults = faults
}

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

/** ‖g‖ of the gradients with the first one made NaN (StepFaults.nanGradient). */
const normWithNanGradient = (gradients: ReadonlyMap<tf.Variable, tf.Tensor>): number => {
  const [first, ...rest] = [...gradients]
  if (first === undefined) return Number.NaN
  const poisoned = tf.mul(first[1], Number.NaN)
  const norm = globalNorm(new Map([[first[0], poisoned], ...rest]))
  poisoned.dispose()
  return norm
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
    /**
     * Named groups of weights whose gradient norm is reported too, as `gradientNorm.<name>` (which
     * part of a model a loss reaches: an encoder against its heads).
     */
    readonly gradientGroups?: Readonly<Record<string, ReadonlySet<tf.Variable>>>
  } = {}
): StepReport => {
  stepFaults.beforePass(clock.step + 1)
  const pass = runTrainingPass(graph, inputs, clock, options.warnOnce ?? (() => {}), options.pass)
  const scalars: Record<string, number> = {}
  for (const [port, value] of pass.values) if (value.rank === 0) scalars[port] = value.dataSync()[0] ?? Number.NaN
  const norm = stepFaults.nanGradient(clock.step + 1) ? normWithNanGradient(pass.gradients) : globalNorm(pass.gradients)
  scalars["gradientNorm"] = norm
  const finite = Object.values(scalars).every(Number.isFinite)
  // Parts of a finite norm only: a non-finite step is reported by gradientNorm alone.
  if (finite) {
    for (const [name, group] of Object.entries(options.gradientGroups ?? {})) {
      scalars[`gradientNorm.${name}`] = globalNorm(new Map([...pass.gradients].filter(([variable]) => group.has(variable))))
    }
  }
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
