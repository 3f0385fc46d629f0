/**
 * The steps of a run, one after the other: a batch drawn by the seeded sampler, tokenized rows put
 * longest first, its pass fitted to memory, one graph step (core/train-step.ts) at the scheduled
 * learning rate, its warnings and metrics logged, the best model kept on the selection evaluator
 * every `evalEvery` steps, a checkpoint every `checkpointEvery`. Each step runs uninterruptibly, so
 * a stop (interruption.ts) lands between two steps. A non-finite loss or gradient ends the loop
 * with `Diverged` before the weights change.
 */
import { join } from "node:path"
import * as tf from "@tensorflow/tfjs"
import { Console, Effect, Schema } from "effect"
import type { AdamW } from "../../core/adamw.ts"
import { OutOfMemory } from "../../core/errors.ts"
import type { Graph } from "../../core/graph.ts"
import { learningRateAt, type LearningRateSchedule } from "../../core/lr-schedule.ts"
import { choosePass, isDoesNotFit, type MemoryPlan, type PassChoice } from "../../core/memory-plan.ts"
import { rowLengthsOf } from "../../core/micro-batch.ts"
import { trainStep, type StepReport } from "../../core/train-step.ts"
import type { BackendInfo } from "../../plugins/backends/index.ts"
import type { CarlConfig } from "../../plugins/carl/config.ts"
import { momentumAt } from "../../plugins/carl/momentum/index.ts"
import { Ports } from "../../plugins/carl/ports.ts"
import type { TextEncoder } from "../../plugins/encoders/load-text-encoder.ts"
import { isImprovement, type EvaluationResult, type Evaluator } from "../../plugins/evaluators/evaluator.ts"
import type { CarlModel } from "../carl-graph.ts"
import { batchOf, type TokenizedExamples } from "./batches.ts"
import { saveCheckpoint, setAsideCheckpoint, type NamedParameterSets } from "./checkpoint.ts"
import type { EpochSampler } from "./epoch-sampler.ts"
import type { EvaluationFailed } from "./evaluation.ts"
import { relativeDistance } from "./evaluation.ts"
import type { Progress } from "./progress.ts"
import type { RunState } from "./resume.ts"
import { logMetrics } from "./run-files.ts"
import { describePass, lastCheckpointNote, lowerMemoryAdvice, megabytes, outOfMemoryOr } from "./step-failure.ts"

/**
 * A step whose loss or gradient is NaN or ±Inf: the run stops before that step's update. The
 * checkpoint of the step before, if there is one, holds the weights that failed: it is set aside
 * and `checkpoint` is the last good one ("" when there is none).
 */
export class Diverged extends Schema.TaggedError<Diverged>()("Diverged", {
  step: Schema.Number,
  values: Schema.String,
  checkpoint: Schema.String,
  setAside: Schema.String
}) {
  override get message(): string {
    const last =
      this.checkpoint === ""
        ? "no good checkpoint to resume from (start again with a lower --lr or --clip-grad-norm)"
        : `last good checkpoint ${this.checkpoint} (continue with --resume and a lower --lr or --clip-grad-norm)`
    const aside = this.setAside === "" ? "" : `; the checkpoint of step ${this.step - 1}, whose weights gave this, was set aside as ${this.setAside}`
    return `step ${this.step}: non-finite ${this.values}; training stopped before this step's update; ${last}${aside}`
  }
}

/** "loss.ptd Infinity, gradientNorm NaN": the scalars of a step that are not finite. */
const nonFiniteValues = (scalars: Readonly<Record<string, number>>): string =>
  Object.entries(scalars)
    .filter(([, value]) => !Number.isFinite(value))
    .map(([name, value]) => `${name} ${value}`)
    .join(", ")

/** Everything a run's steps read and do not change. */
export interface StepLoopRun {
  readonly config: CarlConfig
  readonly out: string
  readonly backend: BackendInfo
  readonly text: TextEncoder
  readonly model: CarlModel
  readonly graph: Graph
  readonly sets: NamedParameterSets
  readonly optimizer: AdamW
  readonly tokenized: TokenizedExamples
  readonly schedule: LearningRateSchedule
  readonly totalSteps: number
  readonly choice: PassChoice
  readonly selection: Evaluator
  readonly canEvaluate: boolean
  readonly evaluate: (evaluator: Evaluator) => Effect.Effect<EvaluationResult, EvaluationFailed>
  readonly evalEvery: number
  readonly checkpointEvery: number
  readonly clipGradientNorm: number | undefined
  /** The online encoder's weights: its part of each step's gradient norm is logged (gradientNorm.encoder). */
  readonly encoderWeights: ReadonlySet<tf.Variable>
  readonly bar: Progress
  readonly onStep: ((report: StepReport) => void) | undefined
}

/** What changes as a run goes: the data position, the best model, the newest checkpoint, the memory plan. */
export class RunProgress {
  best: RunState["best"]
  lastCheckpoint: { path: string; step: number }
  /** Steps taken: the next step's index. */
  step: number
  memoryPlan: MemoryPlan | undefined

  constructor(
    readonly identity: Pick<RunState, "model" | "variant" | "totalSteps" | "trainExamples" | "seed">,
    readonly sampler: EpochSampler,
    start: { readonly step: number; readonly best: RunState["best"]; readonly checkpoint: string; readonly memoryPlan: MemoryPlan | undefined }
  ) {
    this.step = start.step
    this.best = start.best
    this.lastCheckpoint = { path: start.checkpoint, step: start.checkpoint === "" ? -1 : start.step }
    this.memoryPlan = start.memoryPlan
  }

  /** The checkpoint's state.json extra, at this moment. */
  state(): RunState {
    return { ...this.identity, sampler: this.sampler.position(), best: this.best, memoryPlan: this.memoryPlan }
  }
}

/** A checkpoint of where the run is now; it becomes the newest. */
export const checkpointNow = (run: StepLoopRun, progress: RunProgress) =>
  Effect.gen(function* () {
    const path = yield* saveCheckpoint(run.out, progress.step, run.sets, run.optimizer, progress.state())
    progress.lastCheckpoint = { path, step: progress.step }
    return { path, step: progress.step }
  })

/** Lets Node run signal handlers and I/O between two synchronous tensor steps. */
const yieldToEventLoop = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

/** One step: draw, fit to memory, train, log, select, checkpoint. */
const oneStep = (run: StepLoopRun, progress: RunProgress, warnings: Array<string>, warnOnce: (key: string, message: string) => void, started: number, startStep: number) =>
  Effect.gen(function* () {
    const step = progress.step
    const { indices, epoch } = progress.sampler.next()
    const batch = batchOf(run.tokenized, indices)
    const release = Effect.sync(() => tf.dispose(Object.values(batch.inputs)))
    const pass = choosePass(progress.memoryPlan, rowLengthsOf(batch.inputs.attentionMask), run.choice, Ports.attentionMask.name)
    if (isDoesNotFit(pass)) {
      yield* release
      return yield* new OutOfMemory({
        what: `one row of ${pass.rowTokens} tokens needs ${megabytes(pass.neededBytes)} with the model, its gradients and optimiser state, more than ${megabytes(pass.budgetBytes)} of ${run.backend.memory.where}`,
        advice: `${lowerMemoryAdvice(run.backend.name)}${lastCheckpointNote(progress.lastCheckpoint.path)}`
      })
    }
    const learningRate = learningRateAt(run.schedule, step)
    const stepStarted = performance.now()
    const report = yield* Effect.try({
      try: () =>
        trainStep(run.graph, run.optimizer, { ...batch.inputs }, { step, totalSteps: run.totalSteps }, {
          learningRate,
          warnOnce,
          pass,
          // How much of the step reaches the encoder rather than the heads (docs/RESULTS.md, "Gradient norms").
          gradientGroups: { encoder: run.encoderWeights },
          ...(run.clipGradientNorm === undefined ? {} : { clipGradientNorm: run.clipGradientNorm })
        }),
      catch: (error) => {
        const [rows, seq] = batch.inputs.tokenIds.shape
        return outOfMemoryOr(error, {
          doing: `step ${step + 1} on the ${run.backend.name} backend (${run.backend.memory.where}), a batch of ${rows} rows × ${seq} tokens in ${describePass(pass)}`,
          backend: run.backend.name,
          lastCheckpoint: progress.lastCheckpoint.path
        })
      }
    }).pipe(Effect.ensuring(release))
    if (warnings.length > 0) run.bar.clear()
    for (const warning of warnings.splice(0)) yield* Console.error(`carl: warning: ${warning}`)
    if (!report.finite) {
      const last = progress.lastCheckpoint
      const failedFrom = last.step === report.step - 1 ? yield* setAsideCheckpoint(run.out, last.step) : undefined
      return yield* new Diverged({
        step: report.step,
        values: nonFiniteValues(report.scalars),
        checkpoint: failedFrom === undefined ? last.path : (failedFrom.latest ?? ""),
        setAside: failedFrom?.setAside ?? ""
      })
    }
    progress.step = report.step
    const seconds = (performance.now() - stepStarted) / 1000
    yield* logMetrics(run.out, {
      step: report.step,
      epoch,
      learningRate,
      momentum: momentumAt(report.step, run.totalSteps, run.config.momentum.initial),
      ...report.scalars,
      microBatch: pass.microBatch ?? null,
      memory: pass.memory ?? null,
      tokensPerSecond: batch.tokens / seconds,
      seconds
    })
    const elapsed = (performance.now() - started) / 1000
    run.bar.update({
      step: report.step,
      totalSteps: run.totalSteps,
      epoch,
      objective: report.scalars["objective"] ?? Number.NaN,
      learningRate,
      tokensPerSecond: batch.tokens / seconds,
      secondsLeft: (elapsed / (report.step - startStep)) * (run.totalSteps - report.step)
    })
    if (run.evalEvery > 0 && run.canEvaluate && report.step % run.evalEvery === 0) yield* selectBest(run, progress)
    if (run.checkpointEvery > 0 && report.step % run.checkpointEvery === 0 && report.step < run.totalSteps) yield* checkpointNow(run, progress)
    run.onStep?.(report)
  })

/** The selection evaluator now; the model is kept in <out>/best when it beats the best so far. */
export const selectBest = (run: StepLoopRun, progress: RunProgress) =>
  Effect.gen(function* () {
    const result = yield* run.evaluate(run.selection)
    yield* logMetrics(run.out, {
      step: progress.step,
      evaluation: run.selection.name,
      ...result.metrics,
      targetDrift: relativeDistance(run.model.online.parameters, run.model.target.parameters)
    })
    if (!isImprovement(run.selection, result.primary, progress.best?.value)) return
    progress.best = { step: progress.step, value: result.primary }
    yield* run.text.save(join(run.out, "best"))
    if (progress.step > 0) {
      run.bar.say(`step ${progress.step}: dev ${run.selection.primaryMetric} ${result.primary.toFixed(4)} (best so far; saved to ${join(run.out, "best")})`)
    }
  })

/** The run's remaining steps, each uninterruptible; an interruption lands between two of them. */
export const runSteps = (run: StepLoopRun, progress: RunProgress) =>
  Effect.gen(function* () {
    // Plugins warn from inside a step (synchronous tensor code); each warning is printed once per
    // run, after the step, on stderr.
    const warned = new Set<string>()
    const warnings: Array<string> = []
    const warnOnce = (key: string, message: string) => {
      if (warned.has(key)) return
      warned.add(key)
      warnings.push(message)
    }
    const started = performance.now()
    const startStep = progress.step
    while (progress.step < run.totalSteps) {
      yield* yieldToEventLoop
      yield* Effect.uninterruptible(oneStep(run, progress, warnings, warnOnce, started, startStep))
    }
  })
