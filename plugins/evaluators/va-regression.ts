/**
 * Valence and arousal regression from frozen sentence embeddings (the paper's Table I):
 * ridge regression fitted on the train split, its λ chosen on dev, scored on the evaluation
 * split by Pearson r, Spearman ρ and MAE on labels in [−1, 1].
 */
import { problemText } from "../../core/errors.ts"
import { SeededRandom } from "../../core/random.ts"
import { addMoments, fitRidgeFromMoments, fitRidgePaths, predictRidge, ridgeMoments, type RidgeMoments, type RidgeModel } from "./math/ridge-regression.ts"
import { meanAbsoluteError, pearson, spearman } from "./math/statistics.ts"
import type { Evaluator } from "./evaluator.ts"

export interface VaSplit {
  readonly texts: ReadonlyArray<string>
  readonly valence: ReadonlyArray<number>
  readonly arousal: ReadonlyArray<number>
}

export type VaDimension = "valence" | "arousal"

const RIDGE_LAMBDAS: ReadonlyArray<number> = [1e-3, 1e-2, 1e-1, 1, 10, 100, 1000]

/** Labels of one split, on [−1, 1]. */
export interface VaLabels {
  readonly valence: ReadonlyArray<number>
  readonly arousal: ReadonlyArray<number>
}

export interface VaDimensionFit {
  readonly model: RidgeModel
  readonly lambda: number
  readonly devPearson: number
}

export type VaFit = Readonly<Record<VaDimension, VaDimensionFit>>

export interface VaScores {
  readonly pearson: number
  readonly spearman: number
  readonly mae: number
}

/**
 * Embeddings no regression can be fitted on (a diverged model's) are named as such: the fit alone
 * would only say that its normal equations are not positive definite.
 */
export const checkFinite = (vectors: ReadonlyArray<ArrayLike<number>>, split: string): void => {
  for (const [row, vector] of vectors.entries()) {
    for (let i = 0; i < vector.length; i++) {
      const value = vector[i] ?? Number.NaN
      if (!Number.isFinite(value)) throw new Error(`the ${split} embeddings are not finite (sentence ${row} holds ${value}): the model has diverged`)
    }
  }
}

/** A ridge path per dimension on train; the λ with the best dev Pearson r. Non-finite embeddings are refused by name. */
export const fitVaRidge = (
  train: { readonly vectors: ReadonlyArray<ArrayLike<number>>; readonly labels: VaLabels },
  dev: { readonly vectors: ReadonlyArray<ArrayLike<number>>; readonly labels: VaLabels },
  lambdas: ReadonlyArray<number> = RIDGE_LAMBDAS
): VaFit => {
  checkFinite(train.vectors, "train")
  checkFinite(dev.vectors, "dev")
  // Both dimensions' paths from one pass over train: the normal equations are shared.
  const paths = (() => {
    try {
      return fitRidgePaths(train.vectors, [train.labels.valence, train.labels.arousal], lambdas)
    } catch (error) {
      throw new Error(`the train embeddings are degenerate: ${problemText(error)}`)
    }
  })()
  const fitDimension = (dimension: VaDimension, models: ReadonlyArray<RidgeModel>): VaDimensionFit => {
    const devScores = models.map((candidate) => pearson(predictRidge(candidate, dev.vectors), dev.labels[dimension]))
    const best = devScores.reduce((chosen, score, i) => (score > (devScores[chosen] ?? -Infinity) ? i : chosen), 0)
    const model = models[best]
    if (model === undefined) throw new Error("va head: no ridge model")
    return { model, lambda: lambdas[best] ?? Number.NaN, devPearson: devScores[best] ?? Number.NaN }
  }
  return { valence: fitDimension("valence", paths[0] ?? []), arousal: fitDimension("arousal", paths[1] ?? []) }
}

/** Pearson, Spearman and MAE of predictions against labels, both on [−1, 1]. */
export const vaScores = (predicted: ArrayLike<number>, truth: ArrayLike<number>): VaScores => ({
  pearson: pearson(predicted, truth),
  spearman: spearman(predicted, truth),
  mae: meanAbsoluteError(predicted, truth)
})

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
    const fit = fitVaRidge({ vectors: trainX, labels: splits.train }, { vectors: devX, labels: splits.dev })
    checkFinite(evaluationX, splits.evaluationName)
    const metrics: Record<string, number> = {}
    for (const dimension of ["valence", "arousal"] as const) {
      const scores = vaScores(predictRidge(fit[dimension].model, evaluationX), splits.evaluation[dimension])
      metrics[`${dimension}.pearson`] = scores.pearson
      metrics[`${dimension}.spearman`] = scores.spearman
      metrics[`${dimension}.mae`] = scores.mae
      metrics[`${dimension}.lambda`] = fit[dimension].lambda
    }
    const primary = ((metrics["valence.pearson"] ?? Number.NaN) + (metrics["arousal.pearson"] ?? Number.NaN)) / 2
    metrics["va.pearson"] = primary
    return { metrics, primary }
  }
})

export interface CrossValidatedVa {
  readonly valence: VaScores
  readonly arousal: VaScores
  readonly folds: number
}

/**
 * In-domain valence and arousal of a corpus without a split of its own: k-fold cross-validation.
 * Each fold is predicted by ridge fitted on the other k − 1, its λ chosen (per dimension, by
 * Pearson r) on the next fold with the remaining k − 2 as train; the scores are of the pooled
 * out-of-fold predictions over the whole corpus. Fold moments are formed once and added.
 */
export const crossValidatedVa = (
  vectors: ReadonlyArray<ArrayLike<number>>,
  labels: VaLabels,
  options: { readonly folds: number; readonly random: SeededRandom; readonly lambdas?: ReadonlyArray<number>; readonly name?: string }
): CrossValidatedVa => {
  const n = vectors.length
  const k = options.folds
  if (!(Number.isInteger(k) && k >= 3)) throw new Error(`crossValidatedVa: need at least 3 folds, got ${k}`)
  if (n < k) throw new Error(`${n} examples are too few for ${k}-fold cross-validation`)
  checkFinite(vectors, options.name ?? "corpus")
  const lambdas = options.lambdas ?? RIDGE_LAMBDAS
  const order = Array.from({ length: n }, (_, i) => i)
  options.random.shuffle(order)
  const foldOf = new Int32Array(n)
  order.forEach((index, rank) => {
    foldOf[index] = rank % k
  })
  const members = Array.from({ length: k }, (_, f) => order.filter((index) => foldOf[index] === f))
  const moments: Array<RidgeMoments> = members.map((rows) =>
    ridgeMoments(
      rows.map((i) => vectors[i] as ArrayLike<number>),
      [rows.map((i) => labels.valence[i] ?? 0), rows.map((i) => labels.arousal[i] ?? 0)]
    )
  )
  const predicted = { valence: new Float64Array(n), arousal: new Float64Array(n) }
  for (let held = 0; held < k; held++) {
    const dev = (held + 1) % k
    const inner = addMoments(moments.filter((_, f) => f !== held && f !== dev))
    const outer = addMoments(moments.filter((_, f) => f !== held))
    const devRows = members[dev]?.map((i) => vectors[i] as ArrayLike<number>) ?? []
    const heldRows = members[held] ?? []
    ;(["valence", "arousal"] as const).forEach((dimension, t) => {
      const candidates = fitRidgeFromMoments(inner, t, lambdas)
      const devTruth = members[dev]?.map((i) => labels[dimension][i] ?? 0) ?? []
      const devScores = candidates.map((candidate) => pearson(predictRidge(candidate, devRows), devTruth))
      const best = devScores.reduce((chosen, score, i) => (score > (devScores[chosen] ?? -Infinity) ? i : chosen), 0)
      const [model] = fitRidgeFromMoments(outer, t, [lambdas[best] ?? 1])
      if (model === undefined) throw new Error("crossValidatedVa: no model")
      const out = predictRidge(model, heldRows.map((i) => vectors[i] as ArrayLike<number>))
      heldRows.forEach((i, row) => {
        predicted[dimension][i] = out[row] ?? Number.NaN
      })
    })
  }
  return { valence: vaScores(predicted.valence, labels.valence), arousal: vaScores(predicted.arousal, labels.arousal), folds: k }
}

/**
 * A valence–arousal corpus of the user's: cross-corpus (ridge fitted on the source corpus's train
 * split, λ on its dev split, scored on every example of this one) and in-domain (k-fold on this
 * corpus alone, crossValidatedVa). Labels on both sides are on [−1, 1], each corpus normalised
 * on its own nominal scale (Eq. 12), so MAE is comparable across corpora only on that scale.
 */
export const vaCorpusEvaluator = (settings: {
  readonly name: string
  readonly corpus: VaSplit
  readonly source: { readonly train: VaSplit; readonly dev: VaSplit }
  readonly folds: number
  /** The folds are drawn from this seed afresh for every model: each model is scored on the same folds. */
  readonly seed: number
}): Evaluator => ({
  name: `va-corpus(${settings.name})`,
  primaryMetric: "inDomain.va.pearson",
  greaterIsBetter: true,
  evaluate: (embed) => {
    const trainX = embed(settings.source.train.texts)
    const devX = embed(settings.source.dev.texts)
    const corpusX = embed(settings.corpus.texts)
    const fit = fitVaRidge({ vectors: trainX, labels: settings.source.train }, { vectors: devX, labels: settings.source.dev })
    const inDomain = crossValidatedVa(corpusX, settings.corpus, {
      folds: settings.folds,
      random: new SeededRandom(settings.seed).fork(`va-data:${settings.name}`),
      name: settings.name
    })
    const metrics: Record<string, number> = { examples: settings.corpus.texts.length, folds: inDomain.folds }
    for (const dimension of ["valence", "arousal"] as const) {
      const cross = vaScores(predictRidge(fit[dimension].model, corpusX), settings.corpus[dimension])
      for (const [name, value] of Object.entries(cross)) metrics[`crossCorpus.${dimension}.${name}`] = value
      for (const [name, value] of Object.entries(inDomain[dimension])) metrics[`inDomain.${dimension}.${name}`] = value
    }
    const primary = ((metrics["inDomain.valence.pearson"] ?? Number.NaN) + (metrics["inDomain.arousal.pearson"] ?? Number.NaN)) / 2
    metrics["inDomain.va.pearson"] = primary
    return { metrics, primary }
  }
})
