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

type GradientGroups = Readonly<Record<string, ReadonlySet<tf.Variable>>>

/**
 * ‖g‖₂ over every weight's gradient together, as torch.nn.utils.clip_grad_norm_ measures it, and
 * over each named group of weights: Σg² of each weight once (its squares freed with it), summed
 * per group, read in one transfer.
 */
const gradientNorms = (gradients: ReadonlyMap<tf.Variable, tf.Tensor>, groups: GradientGroups): { readonly all: number; readonly groups: Record<string, number> } => {
  const sums = [...gradients].map(([variable, gradient]) => [variable, tf.tidy(() => tf.sum(tf.square(gradient)))] as const)
  const names = Object.keys(groups)
  const totals = tf.tidy(() => {
    const total = (scalars: ReadonlyArray<tf.Tensor>) => (scalars.length === 0 ? tf.scalar(0) : tf.addN([...scalars]))
    const ofGroup = (group: ReadonlySet<tf.Variable> | undefined) => total(sums.filter(([variable]) => group?.has(variable) ?? false).map(([, sum]) => sum))
    return tf.stack([total(sums.map(([, sum]) => sum)), ...names.map((name) => ofGroup(groups[name]))]).dataSync()
  })
  tf.dispose(sums.map(([, sum]) => sum))
  return { all: Math.sqrt(totals[0] ?? Number.NaN), groups: Object.fromEntries(names.map((name, i) => [name, Math.sqrt(totals[i + 1] ?? Number.NaN)])) }
}

/** The norms with the first gradient made NaN (StepFaults.nanGradient). */
const normsWithNanGradient = (gradients: ReadonlyMap<tf.Variable, tf.Tensor>, groups: GradientGroups) => {
  const [first, ...rest] = [...gradients]
  if (first === undefined) return { all: Number.NaN, groups: {} }
  const poisoned = tf.mul(first[1], Number.NaN)
  const norms = gradientNorms(new Map([[first[0], poisoned], ...rest]), groups)
  poisoned.dispose()
  return norms
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
    readonly gradientGroups?: GradientGroups
  } = {}
): StepReport => {
  stepFaults.beforePass(clock.step + 1)
  const pass = runTrainingPass(graph, inputs, clock, options.warnOnce ?? (() => {}), options.pass)
  const scalars: Record<string, number> = {}
  for (const [port, value] of pass.values) if (value.rank === 0) scalars[port] = value.dataSync()[0] ?? Number.NaN
  const groups = options.gradientGroups ?? {}
  const norms = stepFaults.nanGradient(clock.step + 1) ? normsWithNanGradient(pass.gradients, groups) : gradientNorms(pass.gradients, groups)
  const norm = norms.all
  scalars["gradientNorm"] = norm
  const finite = Object.values(scalars).every(Number.isFinite)
  if (finite) {
    // Parts of a finite norm only: a non-finite step is reported by gradientNorm alone.
    for (const [name, value] of Object.entries(norms.groups)) scalars[`gradientNorm.${name}`] = value
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
