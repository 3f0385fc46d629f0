/**
 * Evaluation inside a training run: the evaluators that choose the best checkpoint (--select-on:
 * the VA probe on the data's dev split, and with --data-dir the dev splits of SST-5 and of
 * GoEmotions' Ekman emotions, the paper's "transfer tasks"; several make one evaluator whose
 * primary metric is their mean), the held-out test check, and an evaluation that fails as a
 * tagged error naming it.
 */
import { Effect, Schema } from "effect"
import { problemText } from "../../core/errors.ts"
import type { ParameterSet } from "../../core/parameters.ts"
import * as tf from "@tensorflow/tfjs"
import { devProbeEvaluator, type TextClassificationData } from "../../plugins/evaluators/classification-probes.ts"
import { evaluatorList, type EmbedTexts, type Evaluator } from "../../plugins/evaluators/evaluator.ts"
import { vaRegressionEvaluator } from "../../plugins/evaluators/va-regression.ts"
import { EvalError, loadEvalData } from "../eval/eval-data.ts"
import { toVaSplit, type TrainingData } from "./training-data.ts"

/** An evaluation of the model that could not be computed (e.g. a diverged model's embeddings), named. */
export class EvaluationFailed extends Schema.TaggedError<EvaluationFailed>()("EvaluationFailed", {
  evaluation: Schema.String,
  problem: Schema.String
}) {
  override get message(): string {
    return `evaluation ${this.evaluation}: ${this.problem}`
  }
}

/** What --select-on accepts: tasks with a dev split (MR, CR and IMDB have none). */
export const SELECTION_TASKS = ["va", "sst5", "ekman"] as const
export type SelectionTask = (typeof SELECTION_TASKS)[number]

/** The evaluators a run reports and selects with. */
export interface RunEvaluators {
  /** Chooses the best checkpoint (on dev data only). */
  readonly selection: Evaluator
  /** The VA probe on the held-out test split, before and after training. */
  readonly test: Evaluator
  /** Whether there is data enough to evaluate at all. */
  readonly possible: boolean
}

const classificationData = (examples: ReadonlyArray<{ readonly text: string; readonly label: number }>): TextClassificationData => ({
  texts: examples.map((example) => example.text),
  labels: examples.map((example) => example.label)
})

/** The VA probe of a run's data: ridge regression fitted on at most `trainLimit` train sentences. */
const vaProbe = (data: TrainingData, trainLimit: number, evaluation: "dev" | "test"): Evaluator =>
  vaRegressionEvaluator({
    train: toVaSplit(data.train.slice(0, trainLimit)),
    dev: toVaSplit(data.dev),
    evaluation: toVaSplit(evaluation === "dev" ? data.dev : data.test),
    evaluationName: evaluation
  })

/** The run's evaluators: `selection` (default: the VA probe on dev), as one evaluator, and the test probe. */
export const runEvaluators = (
  data: TrainingData,
  options: { readonly trainLimit: number; readonly selection?: ReadonlyArray<Evaluator> | undefined }
): RunEvaluators => {
  const chosen = options.selection ?? [vaProbe(data, options.trainLimit, "dev")]
  const [only] = chosen
  return {
    selection: chosen.length === 1 && only !== undefined ? only : evaluatorList(`select-on(${chosen.map((e) => e.name).join(",")})`, chosen),
    test: vaProbe(data, options.trainLimit, "test"),
    possible: data.dev.length >= 3 && data.test.length >= 3 && Math.min(data.train.length, options.trainLimit) >= 3
  }
}

/**
 * `carl train --select-on`'s evaluators: "va" the VA probe on the data's dev split; "sst5" and
 * "ekman" linear probes on those datasets' dev splits (read from `dataDir`, as `carl eval --data-dir`).
 */
export const selectionEvaluators = Effect.fn("selectionEvaluators")(function* (
  tasks: ReadonlyArray<SelectionTask>,
  data: TrainingData,
  options: { readonly trainLimit: number; readonly dataDir: string | undefined; readonly seed: number }
) {
  const transfer = tasks.filter((task) => task !== "va")
  if (transfer.length > 0 && options.dataDir === undefined) {
    return yield* new EvalError({ problem: `--select-on ${transfer.join(",")} needs --data-dir, the datasets as carl data fetch leaves them` })
  }
  const corpora =
    transfer.length === 0 || options.dataDir === undefined
      ? {}
      : (yield* loadEvalData(options.dataDir, transfer.map((task) => (task === "sst5" ? "sst5" : "goemotions")), { seed: options.seed })).corpora
  return tasks.map((task): Evaluator => {
    if (task === "va") return vaProbe(data, options.trainLimit, "dev")
    if (task === "sst5" && corpora.sst5 !== undefined) {
      const { train, dev } = corpora.sst5.splits
      return devProbeEvaluator({ name: "sst5(dev)", classes: 5, train: classificationData(train), dev: classificationData(dev), test: classificationData(dev) })
    }
    const goemotions = corpora.goemotions
    if (goemotions === undefined) throw new Error(`the corpus of ${task} was not read`)
    const { train, dev } = goemotions.splits
    return devProbeEvaluator({ name: "ekman(dev)", classes: goemotions.classes.length, train: classificationData(train), dev: classificationData(dev), test: classificationData(dev) })
  })
})

/** `evaluator` on the embeddings `embed` gives. */
export const evaluateWith = (embed: EmbedTexts) => (evaluator: Evaluator) =>
  Effect.try({
    try: () => evaluator.evaluate(embed),
    catch: (error) => new EvaluationFailed({ evaluation: evaluator.name, problem: problemText(error) })
  })

/**
 * `embed` that embeds each text once: a call embeds (in one batch) only the texts no earlier call
 * embedded, and returns the vectors it already has for the rest. For one model whose weights no
 * longer change — the final model, whose test probe (dev, test and the first `trainLimit` train
 * sentences) and then VA head (all of train, dev and test) embed overlapping lists.
 */
export const embedOnce = (embed: EmbedTexts): EmbedTexts => {
  const seen = new Map<string, Float32Array>()
  return (texts) => {
    const missing = [...new Set(texts.filter((text) => !seen.has(text)))]
    if (missing.length > 0) embed(missing).forEach((vector, i) => seen.set(missing[i] ?? "", vector))
    return texts.map((text) => {
      const vector = seen.get(text)
      if (vector === undefined) throw new Error(`embedOnce: the embedder returned no vector for "${text.slice(0, 40)}"`)
      return vector
    })
  }
}

/** ‖θ_a − θ_b‖ / ‖θ_a‖ over the weights two sets share by name: how far the momentum target trails the online encoder. */
export const relativeDistance = (a: ParameterSet, b: ParameterSet): number =>
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
