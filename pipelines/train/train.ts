/**
 * A CARL training run, as an Effect program — the recipe:
 *   1. the data checked, the model loaded, the CARL model and its graph built (carl-graph.ts);
 *   2. a new run's files written (run-files.ts), or the run resumed from its newest checkpoint
 *      (resume.ts);
 *   3. how steps fit memory measured once (core/memory-plan.ts);
 *   4. the steps (step-loop.ts), stopped between two steps by SIGINT/SIGTERM with a checkpoint
 *      (interruption.ts);
 *   5. the last checkpoint, the final model in the layout `carl embed` and `carl eval` read, and the
 *      held-out test evaluation;
 *   6. the VA heads `carl predict` reads, beside the final and the best model.
 * The best model on the selection evaluators (evaluation.ts) is kept in <out>/best.
 */
// The reliability tests reach into runs through this (off unless CARL_TEST_FAULT is set).
import "../test-faults.ts"
import { join } from "node:path"
import * as tf from "@tensorflow/tfjs"
import { Console, Effect } from "effect"
import { AdamW } from "../../core/adamw.ts"
import { fusedUpdates } from "../../core/backend-extras.ts"
import { carlSchedule } from "../../core/lr-schedule.ts"
import { probeMemoryPlan, trainableBytes } from "../../core/memory-plan.ts"
import { SeededRandom } from "../../core/random.ts"
import type { StepReport } from "../../core/train-step.ts"
import { Backend } from "../../plugins/backends/index.ts"
import type { CarlConfig } from "../../plugins/carl/config.ts"
import { Ports } from "../../plugins/carl/ports.ts"
import { loadTextEncoder, loadTextEncoderScoped } from "../../plugins/encoders/load-text-encoder.ts"
import type { EvaluationResult, Evaluator } from "../../plugins/evaluators/evaluator.ts"
import { carlGraph, createCarlModel, disposeCarlModel, graphParameterSets, type CarlVariant, type CustomGraph } from "../carl-graph.ts"
import type { VaHeadCard } from "../../plugins/readouts/index.ts"
import { embedTexts } from "../embed.ts"
import { fitVaHeadOn } from "../heads/fit-va-head.ts"
import { CARL_VERSION } from "../version.ts"
import { batchOf, tokenizeExamples } from "./batches.ts"
import { saveCheckpoint } from "./checkpoint.ts"
import { EpochSampler } from "./epoch-sampler.ts"
import { embedOnce, evaluateWith, runEvaluators } from "./evaluation.ts"
import type { EmbedTexts } from "../../plugins/evaluators/evaluator.ts"
import { stopOnSignal } from "./interruption.ts"
import { Progress, type ProgressMode } from "./progress.ts"
import { resumeRun } from "./resume.ts"
import { cutMetricsBackTo, logMetrics, startRunFiles } from "./run-files.ts"
import { checkpointNow, RunProgress, runSteps, selectBest } from "./step-loop.ts"
import { describePlan, largestTrainableBytes, outOfMemoryOr } from "./step-failure.ts"
import { checkLabels, type TrainingData } from "./training-data.ts"

export { EvaluationFailed } from "./evaluation.ts"
export { Interrupted } from "./interruption.ts"
export { RunMismatch } from "./resume.ts"
export { RunFileError } from "./run-files.ts"
export { Diverged } from "./step-loop.ts"
export { InvalidExample } from "./training-data.ts"

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
  /**
   * What chooses the best model every `evalEvery` steps, on dev data only: evaluators (several are
   * averaged, evaluatorList). Default: the VA probe on the data's dev split. `carl train --select-on`
   * builds them with selectionEvaluators (evaluation.ts).
   */
  readonly selection?: ReadonlyArray<Evaluator>
  readonly resume: boolean
  readonly progress: ProgressMode
  readonly clipGradientNorm: number | undefined
  readonly offline: boolean
  /** Cap on the train examples the evaluator's ridge regression is fitted on (speed). */
  readonly evalTrainLimit: number
  /**
   * Fit the VA head of the final model (and of best/, when dev evaluations kept one) on the run's
   * data and write it beside the model, for `carl predict`. Default true.
   */
  readonly heads?: boolean
  /** Called after each completed step (its metrics logged, its checkpoint written): for monitors and tests. */
  readonly onStep?: (report: StepReport) => void
}

export interface TrainSummary {
  readonly steps: number
  readonly before: EvaluationResult | undefined
  readonly after: EvaluationResult | undefined
  readonly finalModel: string
  readonly best: { readonly step: number; readonly value: number } | undefined
  /** The VA heads written (final/, best/), with their held-out test r. */
  readonly heads: ReadonlyArray<{ readonly dir: string; readonly card: VaHeadCard }>
  /** The process's peak resident memory over the run, in MB (what the machine had to give it). */
  readonly peakRssMb: number
}

export const train = Effect.fn("train")(function* (config: CarlConfig, options: TrainOptions) {
  const backend = yield* Backend
  yield* checkLabels(options.data)
  yield* Console.log(`backend: ${backend.reason}`)

  // 1. The model and its graph.
  const text = yield* loadTextEncoder(options.model, { trainable: true, hub: { offline: options.offline } })
  const model = yield* Effect.acquireRelease(
    Effect.sync(() => createCarlModel(text.encoder, config, new SeededRandom(config.seed).fork("heads"))),
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
  const maxLength = Math.min(config.model.maxLength, text.maxLength)
  const tokenized = tokenizeExamples(text.tokenizer, trainSet, maxLength)
  const batchSize = Math.min(config.training.batchSize, trainSet.length)
  const stepsPerEpoch = Math.max(1, Math.floor(trainSet.length / batchSize))
  const totalSteps = options.steps ?? config.training.epochs * stepsPerEpoch
  const schedule = carlSchedule({ peak: config.optimizer.learningRate, totalSteps, warmupRatio: config.optimizer.warmupRatio, stepsPerEpoch })
  const evaluators = runEvaluators(options.data, { trainLimit: options.evalTrainLimit, selection: options.selection })
  const embedSettings = { pooling: config.model.pooling, batchSize: 64, maxLength }
  const embedModel: EmbedTexts = (texts) => embedTexts(text, texts, embedSettings).vectors
  const evaluate = evaluateWith(embedModel)
  const identity = { model: options.model, variant, totalSteps, trainExamples: trainSet.length, seed: config.seed }

  // 2. A new run, or the one in --out resumed.
  let before: EvaluationResult | undefined
  const progress = yield* options.resume
    ? Effect.gen(function* () {
        const resumed = yield* resumeRun(options.out, identity, config, sets, optimizer)
        yield* cutMetricsBackTo(options.out, resumed.step, evaluators.test.name)
        yield* Console.log(`resumed from ${resumed.path} at step ${resumed.step}/${totalSteps}`)
        const sampler = new EpochSampler(trainSet.length, batchSize, config.seed, resumed.state.sampler)
        return new RunProgress(identity, sampler, { step: resumed.step, best: resumed.state.best, checkpoint: resumed.path, memoryPlan: resumed.state.memoryPlan })
      })
    : Effect.gen(function* () {
        yield* startRunFiles(options.out, {
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
        })
        return new RunProgress(identity, new EpochSampler(trainSet.length, batchSize, config.seed), { step: 0, best: undefined, checkpoint: "", memoryPlan: undefined })
      })

  const run = {
    config,
    out: options.out,
    backend,
    text,
    model,
    graph,
    sets,
    optimizer,
    tokenized,
    schedule,
    totalSteps,
    choice: { microBatch: config.training.microBatch, memory: config.training.memory },
    selection: evaluators.selection,
    canEvaluate: evaluators.possible,
    evaluate,
    evalEvery: options.evalEvery,
    checkpointEvery: options.checkpointEvery,
    clipGradientNorm: options.clipGradientNorm,
    encoderWeights: new Set(model.online.parameters.entries().map(([, variable]) => variable)),
    bar: new Progress(options.progress, totalSteps),
    onStep: options.onStep
  }
  if (!options.resume && evaluators.possible) {
    // The untrained model's test probe and dev selection share the train and dev sentences: embed them once.
    const untrained = evaluateWith(embedOnce(embedModel))
    before = yield* untrained(evaluators.test)
    yield* logMetrics(options.out, { step: 0, evaluation: evaluators.test.name, ...before.metrics })
    // With dev evaluations, the untrained model is the first candidate: training must beat it.
    if (options.evalEvery > 0) yield* selectBest({ ...run, evaluate: untrained }, progress)
  }

  // 3. How each step fits memory: probes on the first batch measure what a token position costs.
  if ((run.choice.microBatch === "auto" || run.choice.memory === "auto") && progress.memoryPlan === undefined) {
    const probe = batchOf(tokenized, new EpochSampler(trainSet.length, batchSize, config.seed, progress.sampler.position()).next().indices)
    const optimizerBytes = fusedUpdates() === undefined ? 2 * trainableBytes(graph) + 4 * largestTrainableBytes(graph) : 0
    progress.memoryPlan = yield* Effect.tryPromise({
      try: () =>
        probeMemoryPlan(graph, { ...probe.inputs }, {
          budgetBytes: backend.memory.budgetBytes,
          optimizerBytes,
          lengthMask: Ports.attentionMask.name,
          clock: { step: progress.step, totalSteps }
        }),
      catch: (error) => outOfMemoryOr(error, { doing: `measuring the memory of a step on 2 rows of the first batch (${backend.name} backend)`, backend: backend.name })
    }).pipe(Effect.ensuring(Effect.sync(() => tf.dispose(Object.values(probe.inputs)))))
    yield* Console.log(describePlan(progress.memoryPlan, backend.memory.where))
  }

  // 4. The steps, until the last or a signal.
  yield* stopOnSignal(runSteps(run, progress), checkpointNow(run, progress))

  // 5. The checkpoint first: it refuses weights that are not finite, so neither is written then.
  const finalModel = join(options.out, "final")
  yield* saveCheckpoint(options.out, totalSteps, sets, optimizer, progress.state())
  yield* text.save(finalModel)
  // The final model's weights no longer change: the test probe and its VA head share its embeddings.
  const embedFinal = embedOnce(embedModel)
  const after = evaluators.possible ? yield* evaluateWith(embedFinal)(evaluators.test) : undefined
  if (after !== undefined) yield* logMetrics(options.out, { step: totalSteps, evaluation: evaluators.test.name, ...after.metrics })

  // 6. The VA heads `carl predict` reads, beside the final and the best model.
  const heads: Array<{ readonly dir: string; readonly card: VaHeadCard }> = []
  if ((options.heads ?? true) && evaluators.possible) {
    const stamp = (dir: string) => ({ encoder: { model: dir, pooling: config.model.pooling, maxLength }, carl: CARL_VERSION })
    const final = yield* fitVaHeadOn(options.data, embedFinal, stamp(finalModel), finalModel)
    heads.push({ dir: finalModel, card: final.card })
    if (progress.best !== undefined) {
      const bestModel = join(options.out, "best")
      const best = yield* Effect.scoped(
        Effect.gen(function* () {
          const loaded = yield* loadTextEncoderScoped(bestModel, { trainable: false })
          return yield* fitVaHeadOn(options.data, (texts) => embedTexts(loaded, texts, embedSettings).vectors, stamp(bestModel), bestModel)
        })
      )
      heads.push({ dir: bestModel, card: best.card })
    }
  }
  return { steps: totalSteps, before, after, finalModel, best: progress.best, heads, peakRssMb: process.resourceUsage().maxRSS / 1024 } satisfies TrainSummary
})
