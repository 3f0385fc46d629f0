/**
 * The smoke run: CARL steps on a tiny random BERT and a synthetic batch, every plugin of the
 * real step included. It proves the install, the backend and the graph in seconds.
 */
import * as tf from "@tensorflow/tfjs"
import { Console, Effect } from "effect"
import { AdamW } from "../core/adamw.ts"
import { Backend } from "../plugins/backends/index.ts"
import type { CarlConfig } from "../plugins/carl/config.ts"
import { NonFiniteLoss } from "../core/errors.ts"
import { trainingStages } from "../core/executor.ts"
import { Rng } from "../core/rng.ts"
import { trainStep } from "../core/train-step.ts"
import { TINY_BERT_CONFIG } from "../plugins/encoders/index.ts"
import { BertEncoder } from "../plugins/encoders/index.ts"
import { momentumAt } from "../plugins/carl/momentum/index.ts"
import { carlGraph, createCarlModel, disposeCarlModel } from "./carl-graph.ts"
import { disposeBatch, syntheticBatch } from "./synthetic-batch.ts"

export interface SmokeOptions {
  readonly steps: number
  readonly batchSize: number
  readonly seqLength: number
}

const format = (value: number | undefined) => (value === undefined ? "-" : value.toPrecision(5))

export const smokeRun = Effect.fn("smokeRun")(function* (config: CarlConfig, options: SmokeOptions) {
  const backend = yield* Backend
  const random = yield* Rng
  yield* Console.log(`backend: ${backend.reason}; ${backend.threads} thread(s)`)

  const model = yield* Effect.acquireRelease(
    Effect.sync(() =>
      createCarlModel(BertEncoder.random(TINY_BERT_CONFIG, random.fork("encoder"), { trainable: true }), config, random)
    ),
    (created) => Effect.sync(() => disposeCarlModel(created))
  )
  const optimizer = yield* Effect.acquireRelease(
    Effect.sync(() => new AdamW(config.optimizer)),
    (created) => Effect.sync(() => created.dispose())
  )
  const graph = carlGraph(model, config)
  const cfg = TINY_BERT_CONFIG
  yield* Console.log(
    `model: tiny random BERT (${cfg.numHiddenLayers} layers, hidden ${cfg.hiddenSize}, vocab ${cfg.vocabSize}), ` +
      `${model.online.parameters.count()} encoder weights; batch ${options.batchSize} x ${options.seqLength} tokens`
  )
  const stages = trainingStages(graph)
  for (const stage of [...new Set(stages.map((s) => s.stage))]) {
    const names = stages.filter((s) => s.stage === stage).map((s) => s.plugin)
    yield* Console.log(`stage ${stage}: ${names.join(" → ")}`)
  }

  const batch = yield* Effect.acquireRelease(
    Effect.sync(() => syntheticBatch(random.fork("batch"), { ...options, vocabSize: cfg.vocabSize })),
    (created) => Effect.sync(() => disposeBatch(created))
  )
  const warnings: Array<string> = []
  const seen = new Set<string>()
  const warnOnce = (key: string, message: string) => {
    if (seen.has(key)) return
    seen.add(key)
    warnings.push(message)
  }
  const inputs = { tokenIds: batch.tokenIds, attentionMask: batch.attentionMask, vaLabels: batch.vaLabels }
  for (let step = 0; step < options.steps; step++) {
    const tensorsBefore = tf.memory().numTensors
    const started = performance.now()
    const report = trainStep(graph, optimizer, inputs, { step, totalSteps: options.steps }, { warnOnce })
    const elapsed = performance.now() - started
    for (const warning of warnings.splice(0)) yield* Console.warn(`warning: ${warning}`)
    if (!report.finite) {
      return yield* new NonFiniteLoss({ step: report.step, losses: JSON.stringify(report.scalars) })
    }
    const s = report.scalars
    yield* Console.log(
      `step ${report.step}/${options.steps}: objective ${format(s["objective"])} = ` +
        `${config.objective.mccl}·mccl ${format(s["loss.mccl"])} + ${config.objective.ptd}·ptd ${format(s["loss.ptd"])}; ` +
        `realised ‖δ‖ ${format(s["perturbationNorm"])}; momentum ${momentumAt(report.step, options.steps, config.momentum.initial).toFixed(6)}; ` +
        `${elapsed.toFixed(0)} ms; tensors ${tensorsBefore} → ${tf.memory().numTensors}`
    )
  }
  return { backend: backend.name, steps: options.steps }
})
