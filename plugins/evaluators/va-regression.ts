/**
 * Valence and arousal regression from frozen sentence embeddings (the paper's Table III):
 * ridge regression fitted on the train split, its λ chosen on dev, scored on the evaluation
 * split by Pearson r, Spearman ρ and MAE on labels in [−1, 1].
 */
import { problemText } from "../../core/errors.ts"
import { fitRidgePath, predictRidge } from "./math/ridge-regression.ts"
import { meanAbsoluteError, pearson, spearman } from "./math/statistics.ts"
import type { Evaluator } from "./evaluator.ts"

export interface VaSplit {
  readonly texts: ReadonlyArray<string>
  readonly valence: ReadonlyArray<number>
  readonly arousal: ReadonlyArray<number>
}

export const RIDGE_LAMBDAS: ReadonlyArray<number> = [1e-3, 1e-2, 1e-1, 1, 10, 100, 1000]

/**
 * Embeddings no regression can be fitted on (a diverged model's) are named as such: fitRidge
 * alone would only say that its normal equations are not positive definite.
 */
const checkFinite = (vectors: ReadonlyArray<ArrayLike<number>>, split: string): void => {
  for (const [row, vector] of vectors.entries()) {
    for (let i = 0; i < vector.length; i++) {
      const value = vector[i] ?? Number.NaN
      if (!Number.isFinite(value)) throw new Error(`the ${split} embeddings are not finite (sentence ${row} holds ${value}): the model has diverged`)
    }
  }
}

/** Fits on `train`, picks λ by dev Pearson, reports on `evaluation` (dev itself during training). */
export const vaRegressionEvaluator = (splits: {
  readonly train: VaSplit
  readonly dev: VaSplit
  readonly evaluation: VaSplit
  readonly evaluationName: string
}): Evaluator => ({
  name: `va-regression(${splits.evaluationName})`,
  primaryMetric: "va.pearson",
  greaterIsBetter: true,
  evaluate: (embed) => {
    const trainX = embed(splits.train.texts)
    const devX = embed(splits.dev.texts)
    const evaluationX = splits.evaluation === splits.dev ? devX : embed(splits.evaluation.texts)
    checkFinite(trainX, "train")
    checkFinite(devX, "dev")
    checkFinite(evaluationX, splits.evaluationName)
    const metrics: Record<string, number> = {}
    for (const dimension of ["valence", "arousal"] as const) {
      const models = (() => {
        try {
          return fitRidgePath(trainX, splits.train[dimension], RIDGE_LAMBDAS)
        } catch (error) {
          throw new Error(`${dimension}: the train embeddings are degenerate: ${problemText(error)}`)
        }
      })()
      const devScores = models.map((candidate) => pearson(predictRidge(candidate, devX), splits.dev[dimension]))
      const bestIndex = devScores.reduce((best, score, i) => (score > (devScores[best] ?? -Infinity) ? i : best), 0)
      const chosen = models[bestIndex]
      if (chosen === undefined) throw new Error("va-regression: no ridge model")
      const predicted = predictRidge(chosen, evaluationX)
      const truth = splits.evaluation[dimension]
      metrics[`${dimension}.pearson`] = pearson(predicted, truth)
      metrics[`${dimension}.spearman`] = spearman(predicted, truth)
      metrics[`${dimension}.mae`] = meanAbsoluteError(predicted, truth)
      metrics[`${dimension}.lambda`] = RIDGE_LAMBDAS[bestIndex] ?? Number.NaN
    }
    const primary = ((metrics["valence.pearson"] ?? Number.NaN) + (metrics["arousal.pearson"] ?? Number.NaN)) / 2
    metrics["va.pearson"] = primary
    return { metrics, primary }
  }
})
