/**
 * SentEval's linear probes on frozen embeddings (Conneau & Kiela 2018): a logistic regression
 * whose L2 strength comes from a grid, chosen on data the test never sees —
 *   - a dev split when the corpus has one (SplitClassifier: fit on train per λ, keep the best dev
 *     accuracy, report that model on test);
 *   - otherwise inner folds (KFoldClassifier: for each outer fold, λ by mean accuracy over inner
 *     folds of its training part, then refit on the whole training part);
 *   - or, for large corpora, a seeded held-out part of train, then a refit on all of train.
 * Folds are stratified and drawn from a SeededRandom, so a seed fixes every split.
 */
import { fitLogisticPath, predictLogistic, type LogisticModel, type LogisticOptions } from "./math/logistic-regression.ts"
import type { SeededRandom } from "../../core/random.ts"
import { accuracy } from "./classification-metrics.ts"

/**
 * λ for J = mean cross-entropy + (λ/2)‖W‖² on standardised features, a decade apart. SentEval's
 * PyTorch probe searches weight decay 1e-5…1e-2 on raw features; on standardised ones every
 * dimension weighs in and the best λ is larger (USE-lite: 0.1 for MR and CR, 1 for SST-5, 0.01 for
 * Ekman), so the grid reaches 10, where held-out accuracy has fallen again.
 */
export const LOGISTIC_LAMBDAS: ReadonlyArray<number> = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10]

export interface LabelledVectors {
  readonly vectors: ReadonlyArray<ArrayLike<number>>
  readonly labels: ArrayLike<number>
}

export interface ProbeSettings {
  readonly classes: number
  readonly lambdas?: ReadonlyArray<number>
  readonly logistic?: LogisticOptions
}

/** Each class's indices shuffled and dealt round-robin, so every fold keeps the class balance. */
export const stratifiedFolds = (labels: ArrayLike<number>, folds: number, random: SeededRandom): Array<Array<number>> => {
  if (!(Number.isInteger(folds) && folds >= 2)) throw new Error(`stratifiedFolds: need at least 2 folds, got ${folds}`)
  if (labels.length < folds) throw new Error(`stratifiedFolds: ${labels.length} examples cannot fill ${folds} folds`)
  const byClass = new Map<number, Array<number>>()
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i] ?? 0
    const members = byClass.get(label) ?? []
    members.push(i)
    byClass.set(label, members)
  }
  const out = Array.from({ length: folds }, () => new Array<number>())
  let next = 0
  // Classes in label order, and the deal continues where the last class stopped, so fold sizes differ by at most one.
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    for (const index of random.shuffle(byClass.get(label) ?? [])) {
      out[next % folds]?.push(index)
      next++
    }
  }
  return out.map((fold) => fold.sort((a, b) => a - b))
}

const pick = <T>(items: ReadonlyArray<T>, indices: ReadonlyArray<number>): Array<T> => indices.map((i) => items[i] as T)
const pickLabels = (labels: ArrayLike<number>, indices: ReadonlyArray<number>): Int32Array => Int32Array.from(indices, (i) => labels[i] ?? 0)

const complement = (n: number, excluded: ReadonlyArray<number>): Array<number> => {
  const skip = new Uint8Array(n)
  for (const i of excluded) skip[i] = 1
  const out: Array<number> = []
  for (let i = 0; i < n; i++) if (skip[i] === 0) out.push(i)
  return out
}

/** The first of the best: ties go to the stronger regularisation (earlier in a descending grid, or the larger λ). */
const bestLambdaIndex = (lambdas: ReadonlyArray<number>, scores: ReadonlyArray<number>): number => {
  let best = 0
  for (let i = 1; i < scores.length; i++) {
    const score = scores[i] ?? -Infinity
    const bestScore = scores[best] ?? -Infinity
    if (score > bestScore || (score === bestScore && (lambdas[i] ?? 0) > (lambdas[best] ?? 0))) best = i
  }
  return best
}

export interface SplitProbeResult {
  readonly accuracy: number
  readonly devAccuracy: number
  readonly lambda: number
  /** L-BFGS iterations over every fit. */
  readonly iterations: number
  /** Fits that stopped at the iteration limit. */
  readonly unconverged: number
  readonly predictions: Int32Array
  readonly model: LogisticModel
}

/** Train/dev/test: a model per λ on train, the best on dev, its test accuracy. */
export const probeWithDev = (
  splits: { readonly train: LabelledVectors; readonly dev: LabelledVectors; readonly test: LabelledVectors },
  settings: ProbeSettings
): SplitProbeResult => {
  const lambdas = settings.lambdas ?? LOGISTIC_LAMBDAS
  const models = fitLogisticPath(splits.train.vectors, splits.train.labels, settings.classes, lambdas, settings.logistic)
  const devScores = models.map((model) => accuracy(splits.dev.labels, predictLogistic(model, splits.dev.vectors)))
  const index = bestLambdaIndex(lambdas, devScores)
  const model = models[index] as LogisticModel
  const predictions = predictLogistic(model, splits.test.vectors)
  return {
    accuracy: accuracy(splits.test.labels, predictions),
    devAccuracy: devScores[index] ?? Number.NaN,
    lambda: model.lambda,
    iterations: models.reduce((sum, m) => sum + m.iterations, 0),
    unconverged: models.filter((m) => !m.converged).length,
    predictions,
    model
  }
}

/** λ by mean accuracy over `folds` stratified folds of (vectors, labels). */
export const chooseLambdaByFolds = (
  data: LabelledVectors,
  settings: ProbeSettings & { readonly folds: number; readonly random: SeededRandom }
): { readonly lambda: number; readonly accuracy: number; readonly iterations: number; readonly unconverged: number } => {
  const lambdas = settings.lambdas ?? LOGISTIC_LAMBDAS
  const folds = stratifiedFolds(data.labels, settings.folds, settings.random)
  const totals = new Array<number>(lambdas.length).fill(0)
  let iterations = 0
  let unconverged = 0
  for (const held of folds) {
    const kept = complement(data.vectors.length, held)
    const models = fitLogisticPath(pick(data.vectors, kept), pickLabels(data.labels, kept), settings.classes, lambdas, settings.logistic)
    const heldVectors = pick(data.vectors, held)
    const heldLabels = pickLabels(data.labels, held)
    models.forEach((model, i) => {
      totals[i] = (totals[i] ?? 0) + accuracy(heldLabels, predictLogistic(model, heldVectors))
      iterations += model.iterations
      if (!model.converged) unconverged++
    })
  }
  const scores = totals.map((total) => total / folds.length)
  const index = bestLambdaIndex(lambdas, scores)
  return { lambda: lambdas[index] ?? Number.NaN, accuracy: scores[index] ?? Number.NaN, iterations, unconverged }
}

export interface CrossValidationResult {
  /** Mean over the outer folds of each fold's test accuracy (SentEval's reported number). */
  readonly accuracy: number
  readonly foldAccuracies: ReadonlyArray<number>
  readonly lambdas: ReadonlyArray<number>
  readonly folds: number
  readonly innerFolds: number
  readonly iterations: number
  readonly unconverged: number
}

/** SentEval's KFoldClassifier: nested stratified cross-validation. */
export const probeCrossValidated = (
  data: LabelledVectors,
  settings: ProbeSettings & { readonly folds: number; readonly innerFolds: number; readonly random: SeededRandom }
): CrossValidationResult => {
  const outer = stratifiedFolds(data.labels, settings.folds, settings.random.fork("outer"))
  const foldAccuracies: Array<number> = []
  const chosen: Array<number> = []
  let iterations = 0
  let unconverged = 0
  for (const [f, held] of outer.entries()) {
    const kept = complement(data.vectors.length, held)
    const training = { vectors: pick(data.vectors, kept), labels: pickLabels(data.labels, kept) }
    const inner = chooseLambdaByFolds(training, { ...settings, folds: settings.innerFolds, random: settings.random.fork(`inner:${f}`) })
    const [model] = fitLogisticPath(training.vectors, training.labels, settings.classes, [inner.lambda], settings.logistic)
    if (model === undefined) throw new Error("probeCrossValidated: no model")
    foldAccuracies.push(accuracy(pickLabels(data.labels, held), predictLogistic(model, pick(data.vectors, held))))
    chosen.push(inner.lambda)
    iterations += inner.iterations + model.iterations
    unconverged += inner.unconverged + (model.converged ? 0 : 1)
  }
  return {
    accuracy: foldAccuracies.reduce((sum, a) => sum + a, 0) / foldAccuracies.length,
    foldAccuracies,
    lambdas: chosen,
    folds: settings.folds,
    innerFolds: settings.innerFolds,
    iterations,
    unconverged
  }
}

export interface HeldOutProbeResult {
  readonly accuracy: number
  readonly heldOutAccuracy: number
  readonly lambda: number
  readonly heldOut: number
  readonly iterations: number
  readonly unconverged: number
}

/**
 * Train/test without dev: λ chosen on a stratified held-out `fraction` of train (fitted on the
 * rest), then the model refitted on all of train with that λ and scored on test.
 */
export const probeWithHeldOut = (
  splits: { readonly train: LabelledVectors; readonly test: LabelledVectors },
  settings: ProbeSettings & { readonly fraction: number; readonly random: SeededRandom }
): HeldOutProbeResult => {
  const lambdas = settings.lambdas ?? LOGISTIC_LAMBDAS
  // A training set smaller than 1/fraction (a smoke test's) still gets a held-out part of one per fold.
  const parts = Math.max(2, Math.min(Math.round(1 / settings.fraction), splits.train.vectors.length))
  const [held = []] = stratifiedFolds(splits.train.labels, parts, settings.random)
  const kept = complement(splits.train.vectors.length, held)
  const models = fitLogisticPath(pick(splits.train.vectors, kept), pickLabels(splits.train.labels, kept), settings.classes, lambdas, settings.logistic)
  const heldVectors = pick(splits.train.vectors, held)
  const heldLabels = pickLabels(splits.train.labels, held)
  const scores = models.map((model) => accuracy(heldLabels, predictLogistic(model, heldVectors)))
  const index = bestLambdaIndex(lambdas, scores)
  const lambda = lambdas[index] ?? Number.NaN
  const [model] = fitLogisticPath(splits.train.vectors, splits.train.labels, settings.classes, [lambda], settings.logistic)
  if (model === undefined) throw new Error("probeWithHeldOut: no model")
  return {
    accuracy: accuracy(splits.test.labels, predictLogistic(model, splits.test.vectors)),
    heldOutAccuracy: scores[index] ?? Number.NaN,
    lambda,
    heldOut: held.length,
    iterations: models.reduce((sum, m) => sum + m.iterations, 0) + model.iterations,
    unconverged: [...models, model].filter((m) => !m.converged).length
  }
}
