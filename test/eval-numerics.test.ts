/**
 * The evaluation's numerics against values derived by hand: logistic regression (two optima
 * solved in closed form), macro scores of a 3-class confusion matrix, PCA, alignment and
 * uniformity, folds and pair sampling.
 */
import assert from "node:assert/strict"
import { describe, test } from "node:test"
import { fitLogisticPath, fitLogisticRegression, logisticProbabilities, predictLogistic } from "../plugins/evaluators/math/logistic-regression.ts"
import { fitPca, projectPca, symmetricEigen } from "../plugins/evaluators/math/pca.ts"
import { SeededRandom } from "../core/random.ts"
import { accuracy, confusionMatrix, macroScores } from "../plugins/evaluators/classification-metrics.ts"
import { alignment, positivePairs, sampleIndices, uniformity } from "../plugins/evaluators/embedding-geometry.ts"
import { stratifiedFolds } from "../plugins/evaluators/linear-probe.ts"

const close = (actual: number | undefined, expected: number, tolerance = 1e-12) =>
  assert.ok(actual !== undefined && Math.abs(actual - expected) <= tolerance, `got ${actual}, expected ${expected}`)

const TIGHT = { gradientTolerance: 1e-12, relativeDecrease: 0, maxIterations: 5000 }

describe("logistic regression", () => {
  test("two separable clouds: every training and new point classified right", () => {
    const random = new SeededRandom(1)
    const rows: Array<Array<number>> = []
    const labels: Array<number> = []
    for (let i = 0; i < 60; i++) {
      const label = i % 2
      rows.push([(label === 1 ? 2 : -2) + random.normal(0, 0.3), random.normal(0, 1)])
      labels.push(label)
    }
    const model = fitLogisticRegression(rows, labels, 2, 1e-4)
    assert.ok(model.converged && model.iterations > 0, `converged in ${model.iterations} iterations`)
    assert.equal(accuracy(labels, predictLogistic(model, rows)), 1)
    assert.deepEqual(Array.from(predictLogistic(model, [[3, 0], [-3, 0.5]])), [1, 0])
  })

  test("binary by hand: x = ±1 (standardised: unchanged), λ = 1/(2 ln 3) → w = W₁ − W₀ = ln 3, p(correct) = 3/4", () => {
    // J(w) = log(1 + e^{−w}) + (λ/2)(‖w/2‖² + ‖w/2‖²) = log(1 + e^{−w}) + λw²/4
    // J'(w) = −1/(1 + e^w) + λw/2 = 0 at w = ln 3 when λ·ln 3·4 = 2.
    const lambda = 1 / (2 * Math.log(3))
    const model = fitLogisticRegression([[1], [-1]], [1, 0], 2, lambda, TIGHT)
    close(model.weights[1], Math.log(3) / 2, 1e-9)
    close(model.weights[0], -Math.log(3) / 2, 1e-9)
    close(model.bias[0], 0, 1e-9)
    close(model.bias[1], 0, 1e-9)
    close(model.objective, Math.log(4 / 3) + Math.log(3) / 8, 1e-12)
    const probabilities = logisticProbabilities(model, [[1], [-1]])
    close(probabilities[1], 3 / 4, 1e-9)
    close(probabilities[2], 3 / 4, 1e-9)
  })

  test("three classes by hand: unit vectors at 0°, 120°, 240°, λ = 3/(4 ln 2) → p = (1/2, 1/4, 1/4)", () => {
    // Standardised, each point is √2·uₖ (both coordinates have variance 1/2). By symmetry Wₖ = a·uₖ,
    // so −log p(correct) = log(1 + 2e^{−ca}) with c = 3/√2 and the penalty is (λ/2)·3a².
    // J'(a) = 0 at 2e^{−ca} = 1 (p = 1/2) when 3λa = c/2, i.e. a = ln 2 / c and λ = c²/(6 ln 2) = 3/(4 ln 2).
    const points = [0, 1, 2].map((k) => [Math.cos((2 * Math.PI * k) / 3), Math.sin((2 * Math.PI * k) / 3)])
    const model = fitLogisticRegression(points, [0, 1, 2], 3, 3 / (4 * Math.log(2)), TIGHT)
    const a = (Math.SQRT2 * Math.log(2)) / 3
    close(model.weights[0], a, 1e-9)
    close(model.weights[1], 0, 1e-9)
    close(model.weights[2], -a / 2, 1e-9)
    close(model.weights[3], (a * Math.sqrt(3)) / 2, 1e-9)
    const probabilities = logisticProbabilities(model, points)
    for (let k = 0; k < 3; k++) {
      for (let j = 0; j < 3; j++) close(probabilities[k * 3 + j], j === k ? 1 / 2 : 1 / 4, 1e-9)
    }
    close(model.bias.reduce((sum, b) => sum + b, 0), 0, 1e-12)
  })

  test("the warm-started λ path lands where cold single fits do; a larger λ shrinks the weights", () => {
    const random = new SeededRandom(3)
    const rows = Array.from({ length: 120 }, () => Array.from({ length: 6 }, () => random.normal()))
    const labels = rows.map((row) => ((row[0] ?? 0) + 0.5 * (row[1] ?? 0) + random.normal(0, 0.5) > 0 ? ((row[2] ?? 0) > 0 ? 2 : 1) : 0))
    const lambdas = [1e-3, 1, 1e-1]
    const path = fitLogisticPath(rows, labels, 3, lambdas, TIGHT)
    lambdas.forEach((lambda, i) => {
      const cold = fitLogisticRegression(rows, labels, 3, lambda, TIGHT)
      const warm = path[i]
      assert.ok(warm !== undefined)
      close(warm.objective, cold.objective, 1e-10)
      warm.weights.forEach((w, j) => close(w, cold.weights[j] ?? NaN, 1e-5))
    })
    const norm = (i: number) => Math.hypot(...(path[i]?.weights ?? []))
    assert.ok(norm(1) < norm(2) && norm(2) < norm(0))
  })

  test("labels outside the classes are refused", () => {
    assert.throws(() => fitLogisticRegression([[0], [1]], [0, 2], 2, 1), /label 2 of row 1/)
  })
})

describe("classification metrics", () => {
  // truth 0 0 0 0 1 1 1 2 2 2, predicted 0 0 1 2 1 1 0 2 2 1 → rows [2 1 1], [1 2 0], [0 1 2]
  const truth = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]
  const predicted = [0, 0, 1, 2, 1, 1, 0, 2, 2, 1]

  test("a 3-class confusion matrix by hand", () => {
    const confusion = confusionMatrix(truth, predicted, 3)
    assert.deepEqual(confusion, [
      [2, 1, 1],
      [1, 2, 0],
      [0, 1, 2]
    ])
    const scores = macroScores(confusion)
    close(scores.accuracy, 0.6)
    // precision (column sums 3, 4, 3): 2/3, 1/2, 2/3; recall (row sums 4, 3, 3): 1/2, 2/3, 2/3
    close(scores.precision, (2 / 3 + 1 / 2 + 2 / 3) / 3)
    close(scores.recall, (1 / 2 + 2 / 3 + 2 / 3) / 3)
    // F1: 2·(2/3)(1/2)/(7/6) = 4/7, 4/7, 2/3 → mean 38/63 (not the F1 of the macro P and R, 11/18)
    close(scores.f1, 38 / 63)
    close(scores.perClass[0]?.f1, 4 / 7)
    close(accuracy(truth, predicted), 0.6)
  })

  test("a class never predicted has precision 0, not NaN", () => {
    const scores = macroScores(confusionMatrix([0, 1, 2], [0, 1, 1], 3))
    close(scores.perClass[2]?.precision, 0)
    close(scores.perClass[2]?.f1, 0)
    close(scores.precision, (1 + 1 / 2 + 0) / 3)
  })
})

describe("PCA", () => {
  test("points on a line: the first component is the line's direction and carries all the variance", () => {
    const direction = [1 / 3, 2 / 3, 2 / 3]
    const origin = [1, -1, 0.5]
    const t = [-2, -1, 0, 1, 3]
    const rows = t.map((s) => origin.map((o, j) => o + s * (direction[j] ?? 0)))
    const pca = fitPca(rows, 2)
    pca.components[0]?.forEach((value, j) => close(value, direction[j] ?? NaN, 1e-10))
    close(pca.explainedVarianceRatio[0], 1, 1e-12)
    close(pca.explainedVarianceRatio[1], 0, 1e-12)
    // sample variance of t: Σ(t − 0.2)² / 4 = 14.8 / 4
    close(pca.variances[0], 3.7, 1e-12)
    projectPca(pca, rows).forEach((point, i) => close(point[0], (t[i] ?? 0) - 0.2, 1e-12))
  })

  test("axis-aligned cross: variances 6 and 2/3, so the ratios are 0.9 and 0.1", () => {
    const pca = fitPca(
      [
        [3, 0, 0],
        [-3, 0, 0],
        [0, 1, 0],
        [0, -1, 0]
      ],
      2
    )
    close(pca.variances[0], 6, 1e-12)
    close(pca.variances[1], 2 / 3, 1e-12)
    close(pca.explainedVarianceRatio[0], 0.9, 1e-12)
    close(pca.explainedVarianceRatio[1], 0.1, 1e-12)
    ;[1, 0, 0].forEach((expected, j) => close(pca.components[0]?.[j], expected, 1e-12))
    ;[0, 1, 0].forEach((expected, j) => close(pca.components[1]?.[j], expected, 1e-12))
  })

  test("in 40 dimensions the block iteration agrees with Jacobi on the whole covariance", () => {
    const random = new SeededRandom(11)
    const d = 40
    const mixing = Array.from({ length: d * d }, () => random.normal())
    const rows = Array.from({ length: 300 }, () => {
      const z = Array.from({ length: d }, (_, j) => random.normal() / (1 + j / 4))
      return Array.from({ length: d }, (_, i) => z.reduce((sum, value, j) => sum + value * (mixing[i * d + j] ?? 0), 0))
    })
    const pca = fitPca(rows, 2)
    const mean = Array.from({ length: d }, (_, j) => rows.reduce((sum, row) => sum + (row[j] ?? 0), 0) / rows.length)
    const covariance = new Float64Array(d * d)
    for (const row of rows) for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) covariance[i * d + j] = (covariance[i * d + j] ?? 0) + ((row[i] ?? 0) - (mean[i] ?? 0)) * ((row[j] ?? 0) - (mean[j] ?? 0)) / (rows.length - 1)
    const { values } = symmetricEigen(covariance, d)
    const sorted = Array.from(values).sort((a, b) => b - a)
    close(pca.variances[0], sorted[0] ?? NaN, 1e-8 * (sorted[0] ?? 1))
    close(pca.variances[1], sorted[1] ?? NaN, 1e-8 * (sorted[0] ?? 1))
    close(pca.totalVariance, sorted.reduce((sum, v) => sum + v, 0), 1e-8 * pca.totalVariance)
    close(Math.abs(pca.components[0]?.reduce((sum, v, j) => sum + v * (pca.components[1]?.[j] ?? 0), 0) ?? NaN), 0, 1e-10)
  })
})

describe("alignment and uniformity (α = 2, t = 2)", () => {
  const pairs = (first: Array<number>, second: Array<number>) => ({ first: Int32Array.from(first), second: Int32Array.from(second) })

  test("identical positives align perfectly (0); antipodal ones at ‖2u‖² = 4", () => {
    const u = [0.6, 0.8]
    close(alignment([u, u], pairs([0], [1])), 0)
    close(alignment([u, [-0.6, -0.8]], pairs([0], [1])), 4)
  })

  test("two antipodal points: log exp(−2·4) = −8; a square's corners: log((4e⁻⁴ + 2e⁻⁸)/6)", () => {
    close(uniformity([[1, 0], [-1, 0]]), -8)
    const square = [[1, 0], [0, 1], [-1, 0], [0, -1]]
    // four neighbouring pairs at squared distance 2, two opposite pairs at 4
    close(uniformity(square), Math.log((4 * Math.exp(-4) + 2 * Math.exp(-8)) / 6), 1e-14)
    close(uniformity(square, 2, [0, 2]), -8)
  })

  test("positive pairs: every same-label pair once, or a seeded sample of distinct ones", () => {
    const all = positivePairs([0, 1, 0, 1, 0], 100, new SeededRandom(1))
    assert.equal(all.available, 4)
    assert.deepEqual(
      Array.from(all.first, (a, p) => [a, all.second[p]]),
      [
        [0, 2],
        [0, 4],
        [2, 4],
        [1, 3]
      ]
    )
    const labels = Array.from({ length: 60 }, (_, i) => i % 3)
    const sampled = positivePairs(labels, 50, new SeededRandom(2))
    assert.equal(sampled.available, 3 * ((20 * 19) / 2))
    assert.equal(sampled.first.length, 50)
    const seen = new Set<string>()
    sampled.first.forEach((a, p) => {
      const b = sampled.second[p] ?? -1
      assert.ok(a < b && labels[a] === labels[b], `(${a}, ${b}) is a positive pair`)
      seen.add(`${a},${b}`)
    })
    assert.equal(seen.size, 50, "no pair twice")
    assert.deepEqual(positivePairs(labels, 50, new SeededRandom(2)), sampled, "the seed fixes the sample")
  })

  test("sampleIndices: all when few, a sorted seeded subset otherwise", () => {
    assert.deepEqual(sampleIndices(3, 5, new SeededRandom(1)), [0, 1, 2])
    const subset = sampleIndices(100, 10, new SeededRandom(1))
    assert.equal(new Set(subset).size, 10)
    assert.deepEqual(subset, [...subset].sort((a, b) => a - b))
  })
})

describe("stratified folds", () => {
  test("each example in exactly one fold, each class spread evenly, fixed by the seed", () => {
    const labels = Array.from({ length: 103 }, (_, i) => (i < 70 ? 0 : 1))
    const folds = stratifiedFolds(labels, 10, new SeededRandom(5))
    assert.deepEqual(folds.flat().sort((a, b) => a - b), labels.map((_, i) => i))
    for (const fold of folds) {
      const positives = fold.filter((i) => labels[i] === 1).length
      assert.ok(positives === 3 || positives === 4, `a fold holds ${positives} of the 33 positives`)
      assert.ok(fold.length === 10 || fold.length === 11)
    }
    assert.deepEqual(stratifiedFolds(labels, 10, new SeededRandom(5)), folds)
    assert.notDeepEqual(stratifiedFolds(labels, 10, new SeededRandom(6)), folds)
  })
})
