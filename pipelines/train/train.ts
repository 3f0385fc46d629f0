/**
 * A CARL training run, as an Effect program: a stream of batches drawn by a seeded sampler, one
 * graph step each (core/train-step.ts), the learning rate on its schedule, evaluation with best-model
 * selection, checkpoints that a later `--resume` continues exactly, a JSONL metrics log, and a
 * final model in the layout `carl embed` and `carl eval` read.
 *
 * SIGINT and SIGTERM let the current step finish, write a checkpoint and end the run with an
 * `Interrupted` error. A non-finite loss or gradient ends it with `Diverged` before the weights
 * change; a checkpoint of the step before holds the weights that failed and is set aside, so
 * `latest` names the last good one (and checkpoints never hold NaN or ±Inf).
 * Labels are checked finite before the first step; a plugin's warning (a PGD perturbation that
 * rounds away in float32) is printed once per run, on stderr. A resumed run first cuts
 * metrics.jsonl back to the checkpoint's step, so the log reads as one uninterrupted run.
 */
import { appendFile, mkdir, readFile, writeFile } from "node:fs/promises"
import { join } from "node:path"
import * as tf from "@tensorflow/tfjs"
import { Console, Effect, Schema, Stream } from "effect"
import { AdamW } from "../../core/adamw.ts"
import { fileSystemProblem, writeFileAtomic } from "../../core/atomic-file.ts"
import { Backend } from "../../core/backend.ts"
import type { CarlConfig } from "../../core/config.ts"
import { problemText } from "../../core/errors.ts"
import { carlSchedule, learningRateAt } from "../../core/lr-schedule.ts"
import { OutOfMemory } from "../../core/errors.ts"
import { fusedUpdates } from "../../core/fused-updates.ts"
import { rowLengthsOf } from "../../core/micro-batch.ts"
import { choosePass, isDoesNotFit, probeMemoryPlan, trainableBytes, type MemoryPlan } from "../../core/memory-plan.ts"
import type { ParameterSet } from "../../core/parameters.ts"
import { Ports } from "../../core/ports.ts"
import { SeededRandom } from "../../core/random.ts"
import { trainStep, type StepReport } from "../../core/train-step.ts"
import { loadTextEncoder } from "../../plugins/encoder/load-text-encoder.ts"
import { isImprovement, type EvaluationResult, type Evaluator } from "../../plugins/evaluators/evaluator.ts"
import { vaRegressionEvaluator } from "../../plugins/evaluators/va-regression.ts"
import { momentumAt } from "../../plugins/momentum/index.ts"
import { carlGraph, createCarlModel, disposeCarlModel, graphParameterSets, type CarlVariant, type CustomGraph } from "../carl-graph.ts"
import { loadLatestCheckpoint, restoreCheckpoint, saveCheckpoint, setAsideCheckpoint } from "./checkpoint.ts"
import { EpochSampler, type SamplerPosition } from "./epoch-sampler.ts"
import { Progress, type ProgressMode } from "./progress.ts"
import { batchOf, tokenizeExamples } from "./batches.ts"
import { describePass, describePlan, largestTrainableBytes, lastCheckpointNote, lowerMemoryAdvice, megabytes, outOfMemoryOr } from "./step-failure.ts"
import { toVaSplit, type TrainingData } from "./training-data.ts"

export class Interrupted extends Schema.TaggedError<Interrupted>()("Interrupted", {
  signal: Schema.String,
  step: Schema.Number,
  checkpoint: Schema.String
}) {
  override get message(): string {
    return `${this.signal}: stopped after step ${this.step}; checkpoint ${this.checkpoint} (continue with --resume)`
  }
}

export class RunMismatch extends Schema.TaggedError<RunMismatch>()("RunMismatch", {
  out: Schema.String,
  problem: Schema.String
}) {
  override get message(): string {
    return `${this.out}: ${this.problem}`
  }
}

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

/** A training example whose label is not a finite number (data given in code, not read by carl's loaders). */
export class InvalidExample extends Schema.TaggedError<InvalidExample>()("InvalidExample", {
  split: Schema.String,
  index: Schema.Number,
  problem: Schema.String
}) {
  override get message(): string {
    return `training data: ${this.split}[${this.index}]: ${this.problem}`
  }
}

/** An evaluation of the model that could not be computed (e.g. a diverged model's embeddings), named. */
export class EvaluationFailed extends Schema.TaggedError<EvaluationFailed>()("EvaluationFailed", {
  evaluation: Schema.String,
  problem: Schema.String
}) {
  override get message(): string {
    return `evaluation ${this.evaluation}: ${this.problem}`
  }
}

/** A run file (run.json, metrics.jsonl) that cannot be written. */
export class RunFileError extends Schema.TaggedError<RunFileError>()("RunFileError", {
  file: Schema.String,
  problem: Schema.String
}) {
  override get message(): string {
    return `${this.file}: ${this.problem}`
  }
}

export interface TrainOptions {
  readonly model: string
  readonly data: TrainingData
  readonly out: string
  /** One of the paper's graphs, or one of your own. */
  readonly variant: CarlVariant | CustomGraph
  /** Optimiser steps; when absent, `config.training.epochs` epochs. */
  readonly steps: number | undefined
  readonly checkpointEvery: number
  /** Evaluate on dev every N steps (0: only before and after) and keep the best model. */
  readonly evalEvery: number
  readonly resume: boolean
  readonly progress: ProgressMode
  readonly clipGradientNorm: number | undefined
  readonly offline: boolean
  /** Cap on the train examples the evaluator's ridge regression is fitted on (speed). */
  readonly evalTrainLimit: number
  /** Called after each completed step (its metrics logged, its checkpoint written): for monitors and tests. */
  readonly onStep?: (report: StepReport) => void
}

/** What a checkpoint's state.json carries beside the weights. */
interface RunState {
  readonly model: string
  readonly variant: string
  readonly totalSteps: number
  readonly trainExamples: number
  readonly sampler: SamplerPosition
  readonly best: { readonly step: number; readonly value: number } | undefined
  readonly seed: number
  /** How steps fit memory (core/memory-plan.ts); kept so a resumed run makes the same choices. */
  readonly memoryPlan?: MemoryPlan | undefined
}

export interface TrainSummary {
  readonly steps: number
  readonly before: EvaluationResult | undefined
  readonly after: EvaluationResult | undefined
  readonly finalModel: string
  readonly best: { readonly step: number; readonly value: number } | undefined
  /** The process's peak resident memory over the run, in MB (what the machine had to give it). */
  readonly peakRssMb: number
}

/** Listens for SIGINT/SIGTERM while the run lasts; the loop checks between steps. */
const stopRequests = Effect.acquireRelease(
  Effect.sync(() => {
    const state = { signal: undefined as string | undefined }
    const onSignal = (signal: NodeJS.Signals) => {
      state.signal = signal
    }
    process.on("SIGINT", onSignal)
    process.on("SIGTERM", onSignal)
    return { state, onSignal }
  }),
  ({ onSignal }) =>
    Effect.sync(() => {
      process.off("SIGINT", onSignal)
      process.off("SIGTERM", onSignal)
    })
)

/** Lets Node run signal handlers and I/O between two synchronous tensor steps. */
const yieldToEventLoop = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

const writeRunFile = (file: string, write: () => Promise<void>) =>
  Effect.tryPromise({ try: write, catch: (error) => new RunFileError({ file, problem: `cannot write: ${fileSystemProblem(error)}` }) })

const writeJsonLine = (file: string, record: unknown) => writeRunFile(file, () => appendFile(file, `${JSON.stringify(record)}\n`))

/**
 * metrics.jsonl as it was when the checkpoint of `step` was written: whole lines of earlier
 * steps, and of this step all but the final test evaluation (written after the last checkpoint).
 * A run killed mid-line leaves no broken line, and redone steps are not logged twice.
 */
const metricsUpTo = (text: string, step: number, finalEvaluation: string): string =>
  text
    .split("\n")
    .filter((line) => {
      const record = parseJsonLine(line)
      if (record === undefined || typeof record["step"] !== "number") return false
      return record["step"] < step || (record["step"] === step && (step === 0 || record["evaluation"] !== finalEvaluation))
    })
    .map((line) => `${line}\n`)
    .join("")

/** A whole JSON object line, or undefined for a line cut short by a kill. */
const parseJsonLine = (line: string): Record<string, unknown> | undefined => {
  if (!line.startsWith("{") || !line.endsWith("}")) return undefined
  try {
    const parsed: unknown = JSON.parse(line)
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

/** Labels must be finite numbers: the loaders guarantee it for files; data built in code is checked here. */
const checkLabels = (data: TrainingData) =>
  Effect.gen(function* () {
    for (const [split, examples] of [["train", data.train], ["dev", data.dev], ["test", data.test]] as const) {
      for (const [index, example] of examples.entries()) {
        for (const label of ["valence", "arousal"] as const) {
          if (!Number.isFinite(example[label])) {
            return yield* new InvalidExample({ split, index, problem: `${label} is ${String(example[label])}, not a finite number` })
          }
        }
      }
    }
  })

/** ‖θ_a − θ_b‖ / ‖θ_a‖ over the weights two sets share by name: how far the momentum target trails the online encoder. */
const relativeDistance = (a: ParameterSet, b: ParameterSet): number =>
  tf.tidy(() => {
    let difference = 0
    let size = 0
    for (const [name, weight] of a.entries()) {
      if (!b.has(name)) continue
      difference += tf.sum(tf.square(tf.sub(weight, b.get(name)))).dataSync()[0] ?? 0
      size += tf.sum(tf.square(weight)).dataSync()[0] ?? 0
    }
    return size > 0 ? Math.sqrt(difference / size) : 0
  })

/** "loss.ptd Infinity, gradientNorm NaN": the scalars of a step that are not finite. */
const nonFiniteValues = (scalars: Readonly<Record<string, number>>): string =>
  Object.entries(scalars)
    .filter(([, value]) => !Number.isFinite(value))
    .map(([name, value]) => `${name} ${value}`)
    .join(", ")

export const train = Effect.fn("train")(function* (config: CarlConfig, options: TrainOptions) {
  const backend = yield* Backend
  yield* checkLabels(options.data)
  const stop = yield* stopRequests
  yield* Console.log(`backend: ${backend.reason}`)

  const text = yield* loadTextEncoder(options.model, { trainable: true, hub: { offline: options.offline } })
  const random = new SeededRandom(config.seed)
  const model = yield* Effect.acquireRelease(
    Effect.sync(() => createCarlModel(text.encoder, config, random.fork("heads"))),
    (created) => Effect.sync(() => disposeCarlModel(created))
  )
  const optimizer = yield* Effect.acquireRelease(
    Effect.sync(() => new AdamW(config.optimizer)),
    (created) => Effect.sync(() => created.dispose())
  )
  const variant = typeof options.variant === "string" ? options.variant : options.variant.name
  const graph = typeof options.variant === "string" ? carlGraph(model, config, options.variant) : options.variant.build(model, config)
  const sets = graphParameterSets(model, graph)

  const trainSet = options.data.train
  const microBatch = config.training.microBatch === "auto" ? undefined : config.training.microBatch
  const tokenized = tokenizeExamples(text.tokenizer, trainSet, Math.min(config.model.maxLength, text.maxLength))
  const batchSize = Math.min(config.training.batchSize, trainSet.length)
  const maxLength = Math.min(config.model.maxLength, text.maxLength)
  const stepsPerEpoch = Math.max(1, Math.floor(trainSet.length / batchSize))
  const totalSteps = options.steps ?? config.training.epochs * stepsPerEpoch
  const schedule = carlSchedule({
    peak: config.optimizer.learningRate,
    totalSteps,
    warmupRatio: config.optimizer.warmupRatio,
    stepsPerEpoch
  })
  const evalOptions = { pooling: config.model.pooling, batchSize: 64, maxLength }
  const evalTrain = trainSet.slice(0, options.evalTrainLimit)
  const devEvaluator = vaRegressionEvaluator({
    train: toVaSplit(evalTrain),
    dev: toVaSplit(options.data.dev),
    evaluation: toVaSplit(options.data.dev),
    evaluationName: "dev"
  })
  const testEvaluator = vaRegressionEvaluator({
    train: toVaSplit(evalTrain),
    dev: toVaSplit(options.data.dev),
    evaluation: toVaSplit(options.data.test),
    evaluationName: "test"
  })
  /** An evaluator's run, its failure (a thrown error) a tagged one naming it. */
  const evaluate = (evaluator: Evaluator) =>
    Effect.try({
      try: () => evaluator.evaluate(text, evalOptions),
      catch: (error) => new EvaluationFailed({ evaluation: evaluator.name, problem: problemText(error) })
    })
  const canEvaluate = options.data.dev.length >= 3 && options.data.test.length >= 3 && evalTrain.length >= 3
  const metricsFile = join(options.out, "metrics.jsonl")

  let sampler = new EpochSampler(trainSet.length, batchSize, config.seed)
  let startStep = 0
  let best: RunState["best"] = undefined
  let memoryPlan: MemoryPlan | undefined = undefined
  let before: EvaluationResult | undefined
  /** The newest checkpoint this run wrote or resumed from. */
  let lastCheckpoint = { path: "", step: -1 }

  if (options.resume) {
    const loaded = yield* loadLatestCheckpoint<RunState>(options.out)
    const saved = loaded.state.extra
    const mismatch =
      saved.model !== options.model
        ? `it was trained from --model ${saved.model}`
        : saved.variant !== variant
          ? `it is a ${saved.variant} run`
          : saved.totalSteps !== totalSteps
            ? `it runs ${saved.totalSteps} steps, this one ${totalSteps}`
            : saved.trainExamples !== trainSet.length
              ? `it trained on ${saved.trainExamples} examples, this data has ${trainSet.length}`
              : undefined
    if (mismatch !== undefined) {
      return yield* new RunMismatch({ out: options.out, problem: `cannot resume: ${mismatch}; use the same options or another --out` })
    }
    yield* restoreCheckpoint(loaded, sets, optimizer)
    sampler = new EpochSampler(trainSet.length, batchSize, config.seed, saved.sampler)
    startStep = loaded.state.step
    best = saved.best
    memoryPlan = saved.memoryPlan
    lastCheckpoint = { path: loaded.path, step: startStep }
    for (const skipped of loaded.skipped) yield* Console.error(`carl: warning: skipped a damaged checkpoint: ${skipped}`)
    const logged = yield* Effect.promise(() => readFile(metricsFile, "utf8").catch(() => ""))
    yield* writeRunFile(metricsFile, () => writeFileAtomic(metricsFile, metricsUpTo(logged, startStep, testEvaluator.name)))
    yield* Console.log(`resumed from ${loaded.path} at step ${startStep}/${totalSteps}`)
  } else {
    yield* writeRunFile(options.out, () => mkdir(options.out, { recursive: true }).then(() => undefined))
    yield* writeRunFile(join(options.out, "run.json"), () =>
      writeFile(
        join(options.out, "run.json"),
        `${JSON.stringify(
          {
            model: options.model,
            variant,
            totalSteps,
            batchSize,
            stepsPerEpoch,
            schedule,
            backend: { name: backend.name, via: backend.via, threads: backend.threads },
            data: options.data.sources,
            splits: { train: trainSet.length, dev: options.data.dev.length, test: options.data.test.length },
            config
          },
          null,
          2
        )}\n`
      )
    )
    yield* writeRunFile(metricsFile, () => writeFile(metricsFile, ""))
    if (canEvaluate) {
      before = yield* evaluate(testEvaluator)
      yield* writeJsonLine(metricsFile, { step: 0, evaluation: testEvaluator.name, ...before.metrics })
    }
    // With dev evaluations, the untrained model is the first candidate: training must beat it.
    if (canEvaluate && options.evalEvery > 0) {
      const start = yield* evaluate(devEvaluator)
      yield* writeJsonLine(metricsFile, { step: 0, evaluation: devEvaluator.name, ...start.metrics })
      best = { step: 0, value: start.primary }
      yield* text.save(join(options.out, "best"))
    }
  }

  // How each step fits memory: a probe on the first batch measures what a token position costs.
  const choice = { microBatch: config.training.microBatch, memory: config.training.memory }
  const needsPlan = choice.microBatch === "auto" || choice.memory === "auto"
  if (needsPlan && memoryPlan === undefined) {
    const probeIndices = new EpochSampler(trainSet.length, batchSize, config.seed, sampler.position()).next().indices
    const probe = batchOf(tokenized, probeIndices)
    const optimizerBytes = fusedUpdates() === undefined ? 2 * trainableBytes(graph) + 4 * largestTrainableBytes(graph) : 0
    memoryPlan = yield* Effect.tryPromise({
      try: () =>
        probeMemoryPlan(graph, { ...probe.inputs }, {
          budgetBytes: backend.memory.budgetBytes,
          optimizerBytes,
          lengthMask: Ports.attentionMask.name,
          clock: { step: startStep, totalSteps }
        }),
      catch: (error) => outOfMemoryOr(error, { doing: `measuring the memory of a step on 2 rows of the first batch (${backend.name} backend)`, backend: backend.name })
    }).pipe(Effect.ensuring(Effect.sync(() => tf.dispose(Object.values(probe.inputs)))))
    yield* Console.log(describePlan(memoryPlan, backend.memory.where))
  }

  const runState = (): RunState => ({
    model: options.model,
    variant,
    totalSteps,
    trainExamples: trainSet.length,
    sampler: sampler.position(),
    best,
    seed: config.seed,
    memoryPlan
  })
  // Plugins warn from inside a step (synchronous tensor code); each warning is printed once per
  // run, after the step, on stderr.
  const warned = new Set<string>()
  const pendingWarnings: Array<string> = []
  const warnOnce = (key: string, message: string) => {
    if (warned.has(key)) return
    warned.add(key)
    pendingWarnings.push(message)
  }
  const bar = new Progress(options.progress, totalSteps)
  const started = performance.now()

  // The batches, as a stream pulled one step at a time: a stop request is honoured before the
  // next batch is drawn, so the checkpoint's data position is exactly the next batch to train on.
  const batches = Stream.range(startStep, totalSteps - 1, 1).pipe(
    Stream.mapEffect((step) =>
      Effect.gen(function* () {
        yield* yieldToEventLoop
        if (stop.state.signal !== undefined) {
          const path = yield* saveCheckpoint(options.out, step, sets, optimizer, runState())
          return yield* new Interrupted({ signal: stop.state.signal, step, checkpoint: path })
        }
        const { indices, epoch } = sampler.next()
        return { step, epoch, indices }
      })
    )
  )

  yield* Stream.runForEach(batches, ({ step, epoch, indices }) =>
    Effect.gen(function* () {
      const batch = batchOf(tokenized, indices)
      const pass = choosePass(memoryPlan, rowLengthsOf(batch.inputs.attentionMask), choice, Ports.attentionMask.name)
      if (isDoesNotFit(pass)) {
        tf.dispose(Object.values(batch.inputs))
        return yield* new OutOfMemory({
          what: `one row of ${pass.rowTokens} tokens needs ${megabytes(pass.neededBytes)} with the model, its gradients and optimiser state, more than ${megabytes(pass.budgetBytes)} of ${backend.memory.where}`,
          advice: `${lowerMemoryAdvice(backend.name)}${lastCheckpointNote(lastCheckpoint.path)}`
        })
      }
      const learningRate = learningRateAt(schedule, step)
      const stepStarted = performance.now()
      const report = yield* Effect.try({
        try: () =>
          trainStep(graph, optimizer, { ...batch.inputs }, { step, totalSteps }, {
            learningRate,
            warnOnce,
            pass,
            ...(options.clipGradientNorm === undefined ? {} : { clipGradientNorm: options.clipGradientNorm })
          }),
        catch: (error) => {
          const [rows, seq] = batch.inputs.tokenIds.shape
          return outOfMemoryOr(error, {
            doing: `step ${step + 1} on the ${backend.name} backend (${backend.memory.where}), a batch of ${rows} rows × ${seq} tokens in ${describePass(pass)}`,
            backend: backend.name,
            lastCheckpoint: lastCheckpoint.path
          })
        }
      }).pipe(Effect.tapError(() => Effect.sync(() => tf.dispose(Object.values(batch.inputs)))))
      tf.dispose(Object.values(batch.inputs))
      if (pendingWarnings.length > 0) bar.clear()
      for (const warning of pendingWarnings.splice(0)) yield* Console.error(`carl: warning: ${warning}`)
      if (!report.finite) {
        const failedFrom = lastCheckpoint.step === report.step - 1 ? yield* setAsideCheckpoint(options.out, lastCheckpoint.step) : undefined
        return yield* new Diverged({
          step: report.step,
          values: nonFiniteValues(report.scalars),
          checkpoint: failedFrom === undefined ? lastCheckpoint.path : (failedFrom.latest ?? ""),
          setAside: failedFrom?.setAside ?? ""
        })
      }
      const seconds = (performance.now() - stepStarted) / 1000
      yield* writeJsonLine(metricsFile, {
        step: report.step,
        epoch,
        learningRate,
        momentum: momentumAt(report.step, totalSteps, config.momentum.initial),
        ...report.scalars,
        microBatch: pass.microBatch ?? null,
        memory: pass.memory ?? null,
        tokensPerSecond: batch.tokens / seconds,
        seconds
      })
      const elapsed = (performance.now() - started) / 1000
      bar.update({
        step: report.step,
        totalSteps,
        epoch,
        objective: report.scalars["objective"] ?? Number.NaN,
        learningRate,
        tokensPerSecond: batch.tokens / seconds,
        secondsLeft: (elapsed / (report.step - startStep)) * (totalSteps - report.step)
      })
      if (options.evalEvery > 0 && canEvaluate && report.step % options.evalEvery === 0) {
        const result = yield* evaluate(devEvaluator)
        yield* writeJsonLine(metricsFile, { step: report.step, evaluation: devEvaluator.name, ...result.metrics, targetDrift: relativeDistance(model.online.parameters, model.target.parameters) })
        if (isImprovement(devEvaluator, result.primary, best?.value)) {
          best = { step: report.step, value: result.primary }
          yield* text.save(join(options.out, "best"))
          bar.say(`step ${report.step}: dev ${devEvaluator.primaryMetric} ${result.primary.toFixed(4)} (best so far; saved to ${join(options.out, "best")})`)
        }
      }
      if (options.checkpointEvery > 0 && report.step % options.checkpointEvery === 0 && report.step < totalSteps) {
        lastCheckpoint = { path: yield* saveCheckpoint(options.out, report.step, sets, optimizer, runState()), step: report.step }
      }
      options.onStep?.(report)
    })
  )

  // The checkpoint first: it refuses weights that are not finite, so neither is written then.
  const finalModel = join(options.out, "final")
  yield* saveCheckpoint(options.out, totalSteps, sets, optimizer, runState())
  yield* text.save(finalModel)
  const after = canEvaluate ? yield* evaluate(testEvaluator) : undefined
  if (after !== undefined) yield* writeJsonLine(metricsFile, { step: totalSteps, evaluation: testEvaluator.name, ...after.metrics })
  return { steps: totalSteps, before, after, finalModel, best, peakRssMb: process.resourceUsage().maxRSS / 1024 } satisfies TrainSummary
})

