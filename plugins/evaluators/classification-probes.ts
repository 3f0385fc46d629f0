/**
 * Linear-probe evaluators on frozen sentence embeddings, one per way a corpus is split (see
 * linear-probe.ts for the protocols): polarity (MR, CR by nested 10-fold cross-validation; SST-5
 * on its dev split; IMDB with a held-out part of train) and GoEmotions' Ekman classes (dev split;
 * accuracy and macro precision, recall, F1 — the paper's Tables II and III).
 *
 * Accuracy, precision, recall and F1 are fractions in [0, 1].
 */
import { SeededRandom } from "../../core/random.ts"
import type { LogisticOptions } from "./math/logistic-regression.ts"
import { confusionMatrix, macroScores } from "./classification-metrics.ts"
import type { EmbedTexts, Evaluator } from "./evaluator.ts"
import { probeCrossValidated, probeWithDev, probeWithHeldOut, type LabelledVectors } from "./linear-probe.ts"

export interface TextClassificationData {
  readonly texts: ReadonlyArray<string>
  /** Class indices 0…classes−1, one per text. */
  readonly labels: ReadonlyArray<number>
}

interface ProbeConfig {
  /** What the evaluator is called in logs and results ("mr", "sst5", …). */
  readonly name: string
  readonly classes: number
  readonly lambdas?: ReadonlyArray<number>
  readonly logistic?: LogisticOptions
}

const embedded = (embed: EmbedTexts, data: TextClassificationData): LabelledVectors => ({
  vectors: embed(data.texts),
  labels: data.labels
})

const probeSettings = (config: ProbeConfig) => ({
  classes: config.classes,
  ...(config.lambdas === undefined ? {} : { lambdas: config.lambdas }),
  ...(config.logistic === undefined ? {} : { logistic: config.logistic })
})

/** MR and CR: SentEval's nested stratified k-fold, λ from inner folds of each training fold. */
export const crossValidatedProbeEvaluator = (
  config: ProbeConfig & { readonly data: TextClassificationData; readonly seed: number; readonly folds?: number; readonly innerFolds?: number }
): Evaluator => ({
  name: config.name,
  primaryMetric: "accuracy",
  greaterIsBetter: true,
  evaluate: (embed) => {
    const result = probeCrossValidated(embedded(embed, config.data), {
      ...probeSettings(config),
      folds: config.folds ?? 10,
      innerFolds: config.innerFolds ?? 5,
      random: new SeededRandom(config.seed).fork(`${config.name}:folds`)
    })
    const sortedLambdas = [...result.lambdas].sort((a, b) => a - b)
    return {
      metrics: {
        accuracy: result.accuracy,
        folds: result.folds,
        innerFolds: result.innerFolds,
        examples: config.data.texts.length,
        "lambda.median": sortedLambdas[Math.floor(sortedLambdas.length / 2)] ?? Number.NaN,
        iterations: result.iterations,
        unconverged: result.unconverged
      },
      primary: result.accuracy
    }
  }
})

/**
 * A corpus with train/dev/test (SST-5, GoEmotions-Ekman): λ on dev accuracy, then test accuracy
 * and macro precision, recall and F1.
 */
export const devProbeEvaluator = (
  config: ProbeConfig & { readonly train: TextClassificationData; readonly dev: TextClassificationData; readonly test: TextClassificationData }
): Evaluator => ({
  name: config.name,
  primaryMetric: "accuracy",
  greaterIsBetter: true,
  evaluate: (embed) => {
    const result = probeWithDev(
      { train: embedded(embed, config.train), dev: embedded(embed, config.dev), test: embedded(embed, config.test) },
      probeSettings(config)
    )
    const scores = macroScores(confusionMatrix(config.test.labels, result.predictions, config.classes))
    return {
      metrics: {
        accuracy: result.accuracy,
        precision: scores.precision,
        recall: scores.recall,
        f1: scores.f1,
        devAccuracy: result.devAccuracy,
        lambda: result.lambda,
        iterations: result.iterations,
        unconverged: result.unconverged,
        train: config.train.texts.length,
        dev: config.dev.texts.length,
        test: config.test.texts.length
      },
      primary: result.accuracy
    }
  }
})

/** Train/test only (IMDB): λ on a seeded, stratified held-out `fraction` of train, then a refit on all of train. */
export const heldOutProbeEvaluator = (
  config: ProbeConfig & {
    readonly train: TextClassificationData
    readonly test: TextClassificationData
    readonly seed: number
    /** Default 0.1. */
    readonly heldOutFraction?: number
  }
): Evaluator => ({
  name: config.name,
  primaryMetric: "accuracy",
  greaterIsBetter: true,
  evaluate: (embed) => {
    const result = probeWithHeldOut(
      { train: embedded(embed, config.train), test: embedded(embed, config.test) },
      { ...probeSettings(config), fraction: config.heldOutFraction ?? 0.1, random: new SeededRandom(config.seed).fork(`${config.name}:held-out`) }
    )
    return {
      metrics: {
        accuracy: result.accuracy,
        heldOutAccuracy: result.heldOutAccuracy,
        heldOut: result.heldOut,
        lambda: result.lambda,
        iterations: result.iterations,
        unconverged: result.unconverged,
        train: config.train.texts.length,
        test: config.test.texts.length
      },
      primary: result.accuracy
    }
  }
})
