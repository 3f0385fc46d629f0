/** Statistics, ridge regression and the learning-rate schedule against values derived by hand. */
import assert from "node:assert/strict"
import { describe, test } from "node:test"
import { carlSchedule, learningRateAt } from "../core/lr-schedule.ts"
import { fitRidge, fitRidgePath, fitRidgePaths, predictRidge } from "../plugins/evaluators/math/ridge-regression.ts"
import { meanAbsoluteError, pearson, ranks, spearman } from "../plugins/evaluators/math/statistics.ts"

const close = (actual: number | undefined, expected: number, tolerance = 1e-12) =>
  assert.ok(actual !== undefined && Math.abs(actual - expected) <= tolerance, `got ${actual}, expected ${expected}`)

describe("statistics", () => {
  test("Pearson: x = [1,2,3,4], y = [1,3,2,4] → Σdxdy = 4, Σdx² = Σdy² = 5, r = 0.8", () => {
    close(pearson([1, 2, 3, 4], [1, 3, 2, 4]), 0.8)
    close(pearson([1, 2, 3], [3, 2, 1]), -1)
    assert.ok(Number.isNaN(pearson([1, 1, 1], [1, 2, 3])), "a constant side has no correlation")
  })

  test("ranks share ties (scipy's 'average'); Spearman is Pearson of ranks", () => {
    assert.deepEqual(Array.from(ranks([10, 20, 20, 30])), [1, 2.5, 2.5, 4])
    close(spearman([1, 2, 3, 4], [10, 100, 1000, 10000]), 1, 1e-12)
    // ranks(y) = [1, 3, 2, 4] for y = [5, 9, 7, 11]: the Pearson case above.
    close(spearman([1, 2, 3, 4], [5, 9, 7, 11]), 0.8)
  })

  test("MAE", () => {
    close(meanAbsoluteError([0, 1, 2], [1, 1, 0]), 1)
  })
})

describe("ridge regression", () => {
  test("one feature by hand: x = [0,1,2], y = x, λ = 1 → w = Σxy/(Σx² + λ) = 2/3, b = 1 − 2/3", () => {
    const model = fitRidge([[0], [1], [2]], [0, 1, 2], 1)
    close(model.weights[0], 2 / 3, 1e-12)
    close(model.intercept, 1 / 3, 1e-12)
    close(predictRidge(model, [[3]])[0], 3 * (2 / 3) + 1 / 3, 1e-12)
  })

  test("λ → 0 recovers an exact linear law y = 2·x₁ − x₂ + 3", () => {
    const rows = [
      [0, 0],
      [1, 0],
      [0, 1],
      [2, 3],
      [-1, 4]
    ]
    const y = rows.map(([a = 0, b = 0]) => 2 * a - b + 3)
    const model = fitRidge(rows, y, 1e-9)
    close(model.weights[0], 2, 1e-6)
    close(model.weights[1], -1, 1e-6)
    close(model.intercept, 3, 1e-6)
  })

  test("a larger λ shrinks the weights; the path gives one model per λ", () => {
    const [small, large] = fitRidgePath([[0], [1], [2]], [0, 1, 2], [0.1, 100])
    assert.ok(small !== undefined && large !== undefined)
    assert.ok(Math.abs(large.weights[0] ?? 0) < Math.abs(small.weights[0] ?? 0))
  })

  test("several targets on shared normal equations: each path is the single-target path, exactly", () => {
    const rows = Array.from({ length: 40 }, (_, i) => [Math.sin(i), Math.cos(3 * i), (i % 7) / 7, Math.sin(i * i)])
    const targets = [rows.map(([a = 0, b = 0]) => a - 2 * b), rows.map(([, , c = 0, d = 0]) => c * d + 0.5)]
    const lambdas = [0.01, 1, 100]
    const shared = fitRidgePaths(rows, targets, lambdas)
    targets.forEach((target, t) => {
      const alone = fitRidgePath(rows, target, lambdas)
      alone.forEach((model, l) => {
        assert.deepEqual(shared[t]?.[l]?.weights, model.weights)
        assert.equal(shared[t]?.[l]?.intercept, model.intercept)
      })
    })
    assert.notDeepEqual(shared[0]?.[0]?.weights, shared[1]?.[0]?.weights)
  })
})

describe("learning-rate schedule (warmup, then cosine with warm restarts at epoch boundaries)", () => {
  // 100 steps, 10% warmup → 10 warmup steps; epochs of 45 steps → cycles [0, 45), [45, 90), [90, 100).
  const schedule = carlSchedule({ peak: 1, totalSteps: 100, warmupRatio: 0.1, stepsPerEpoch: 45 })

  test("linear warmup reaches the peak on its last step", () => {
    assert.equal(schedule.warmupSteps, 10)
    close(learningRateAt(schedule, 0), 0.1)
    close(learningRateAt(schedule, 9), 1)
  })

  test("the first cycle anneals from the end of the warmup to the end of the first epoch", () => {
    close(learningRateAt(schedule, 10), 1)
    // steps 10..44: T = 35; at t_cur = 35/3 of 35: (1 + cos(π/3))/2 = 0.75 (not a step); at 17.5, 0.5.
    close(learningRateAt(schedule, 10 + 35 / 3), 0.75)
    assert.ok(learningRateAt(schedule, 44) < 0.01, "near zero on the last step of the first epoch")
  })

  test("a cycle restarts on every epoch boundary and the last step of the run is annealed", () => {
    close(learningRateAt(schedule, 45), 1, 1e-12)
    close(learningRateAt(schedule, 45 + 22.5), 0.5)
    close(learningRateAt(schedule, 90), 1, 1e-12)
    assert.ok(learningRateAt(schedule, 99) < 0.03, `the run ends annealed: ${learningRateAt(schedule, 99)}`)
  })
})
