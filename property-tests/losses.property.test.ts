/**
 * Property tests for the CARL math (Eqs. 2, 3–6, 9, 10) on every CPU backend.
 *
 * Every property runs with a fixed fast-check seed, so a run is reproducible; every check runs
 * inside tf.tidy, and each property asserts that the live tensor count is the same before and
 * after all of its runs. The float64 references below are written from EQUATIONS.md, not from the
 * tfjs code, with EQUATIONS.md's cosine: cos = a·b / max(‖a‖·‖b‖, 1e-8).
 */
import * as tf from "@tensorflow/tfjs"
import fc from "fast-check"
import assert from "node:assert/strict"
import { test } from "node:test"
import { mcclLoss, symmetricSoftmaxCrossEntropy } from "../plugins/carl/mccl/mccl-loss.ts"
import { momentumAt } from "../plugins/carl/momentum/momentum-schedule.ts"
import { focalBinaryLoss } from "../plugins/carl/ptd/focal-loss.ts"
import { projectToEpsBall } from "../plugins/carl/saliency-pgd/eps-ball.ts"
import { forEachBackend } from "../test/support/backends.ts"

type Matrix = Array<Array<number>>

const SEED = 42

// ---------------------------------------------------------------------------------------------
// Helpers

const at = (values: ArrayLike<number>, index: number): number => {
  const value = values[index]
  if (value === undefined) throw new Error(`index ${index} out of range (length ${values.length})`)
  return value
}

const at2 = (m: Matrix, i: number): Array<number> => {
  const row = m[i]
  if (row === undefined) throw new Error(`row ${i} out of range`)
  return row
}

const scalarOf = (tensor: tf.Tensor): number => at(tensor.dataSync(), 0)

const assertClose = (actual: number, expected: number, relative: number, absolute: number, what: string): void => {
  // Written so that NaN on either side fails.
  if (!(Math.abs(actual - expected) <= absolute + relative * Math.abs(expected))) {
    assert.fail(`${what}: got ${actual}, expected ${expected} (|Δ| = ${Math.abs(actual - expected)}, rel ${relative}, abs ${absolute})`)
  }
}

const assertAllFinite = (values: ArrayLike<number>, what: string): void => {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(at(values, i))) assert.fail(`${what}[${i}] = ${at(values, i)} is not finite`)
  }
}

/** Runs a property with the fixed seed; each run is tidied, and the runs together must not leak. */
const checkProperty = <T>(arbitrary: fc.Arbitrary<T>, check: (value: T) => void, numRuns: number): void => {
  const before = tf.memory().numTensors
  fc.assert(
    fc.property(arbitrary, (value) => {
      tf.tidy(() => {
        check(value)
      })
    }),
    { seed: SEED, numRuns }
  )
  assert.equal(tf.memory().numTensors, before, "the property's runs leaked tensors")
}

const matrixArb = (rows: number, cols: number, row: (cols: number) => fc.Arbitrary<Array<number>>): fc.Arbitrary<Matrix> =>
  fc.array(row(cols), { minLength: rows, maxLength: rows })

/** A row of `value`s, or (with the given weight out of weight + 4) an all-zero row. */
const rowOrZero =
  (value: fc.Arbitrary<number>, zeroWeight: number) =>
  (cols: number): fc.Arbitrary<Array<number>> =>
    fc.oneof(
      { arbitrary: fc.constant(Array.from({ length: cols }, () => 0)), weight: zeroWeight },
      { arbitrary: fc.array(value, { minLength: cols, maxLength: cols }), weight: 4 }
    )

/** Multiples of 1/steps in [lo, hi], rounded to float32 so tfjs and the references see the same numbers. */
const gridValue = (lo: number, hi: number, steps: number): fc.Arbitrary<number> =>
  fc.integer({ min: Math.round(lo * steps), max: Math.round(hi * steps) }).map((k) => Math.fround(k / steps))

/** ±m·10^e with m ∈ [1, 10) and e ∈ [minExp, maxExp], rounded to float32. */
const logUniformValue = (minExp: number, maxExp: number): fc.Arbitrary<number> =>
  fc
    .tuple(fc.constantFrom(-1, 1), fc.integer({ min: minExp, max: maxExp }), fc.integer({ min: 100, max: 999 }))
    .map(([sign, exponent, mantissa]) => Math.fround(sign * (mantissa / 100) * 10 ** exponent))

/** 10^e with e uniform in [minExp, maxExp]. */
const logUniformPositive = (minExp: number, maxExp: number): fc.Arbitrary<number> =>
  fc.double({ min: minExp, max: maxExp, noNaN: true }).map((exponent) => 10 ** exponent)

const scaleMatrix = (m: Matrix, factor: number): Matrix => m.map((row) => row.map((v) => Math.fround(v * factor)))

const norm64 = (values: ArrayLike<number>, start: number, length: number): number => {
  let sum = 0
  for (let i = start; i < start + length; i++) sum += at(values, i) * at(values, i)
  return Math.sqrt(sum)
}

// ---------------------------------------------------------------------------------------------
// Float64 references

const cosineMatrix64 = (a: Matrix, b: Matrix): Matrix => {
  const length = (row: Array<number>) => Math.sqrt(row.reduce((sum, v) => sum + v * v, 0))
  return a.map((ra) =>
    b.map((rb) => ra.reduce((sum, v, k) => sum + v * at(rb, k), 0) / Math.max(length(ra) * length(rb), 1e-8))
  )
}

const logSoftmaxRow64 = (row: Array<number>): Array<number> => {
  const largest = Math.max(...row)
  const logSum = largest + Math.log(row.reduce((sum, v) => sum + Math.exp(v - largest), 0))
  return row.map((v) => v - logSum)
}

/** Eqs. 3–6: L = −(1/N)·Σ_ij [P_sim·log P_va + P_va·log P_sim]. */
const mccl64 = (zOnline: Matrix, zTarget: Matrix, va: Matrix, temperature: number, labelTemperature: number): number => {
  const logSim = cosineMatrix64(zOnline, zTarget).map((row) => logSoftmaxRow64(row.map((v) => v / temperature)))
  const logVa = cosineMatrix64(va, va).map((row) => logSoftmaxRow64(row.map((v) => v / labelTemperature)))
  let total = 0
  logSim.forEach((row, i) =>
    row.forEach((ls, j) => {
      const lv = at(at2(logVa, i), j)
      total += Math.exp(ls) * lv + Math.exp(lv) * ls
    })
  )
  return -total / zOnline.length
}

/** −log σ(s), stable for any s. */
const negLogSigmoid64 = (s: number): number => (s > 0 ? Math.log1p(Math.exp(-s)) : -s + Math.log1p(Math.exp(s)))

/** Binary cross-entropy averaged over real tokens (denominator max(Σmask, 1)). */
const bce64 = (logits: Array<number>, targets: Array<number>, mask: Array<number>): number => {
  let total = 0
  let count = 0
  logits.forEach((x, i) => {
    const s = at(targets, i) === 1 ? x : -x
    total += at(mask, i) * negLogSigmoid64(s)
    count += at(mask, i)
  })
  return total / Math.max(count, 1)
}

/** Eq. 10 straight from its definition: −(1 − p_t)^γ·log p_t with p_t from σ, for moderate logits. */
const focal64 = (logits: Array<number>, targets: Array<number>, mask: Array<number>, gamma: number): number => {
  let total = 0
  let count = 0
  logits.forEach((x, i) => {
    const p = 1 / (1 + Math.exp(-x))
    const pt = at(targets, i) === 1 ? p : 1 - p
    total += at(mask, i) * -((1 - pt) ** gamma) * Math.log(pt)
    count += at(mask, i)
  })
  return total / Math.max(count, 1)
}

/** Central differences of f at x (flat), step h, all in float64. */
const centralDifferences = (f: (x: Array<number>) => number, x: Array<number>, h: number): Array<number> =>
  x.map((_, k) => {
    const plus = [...x]
    const minus = [...x]
    plus[k] = at(x, k) + h
    minus[k] = at(x, k) - h
    return (f(plus) - f(minus)) / (2 * h)
  })

const reshape = (flat: Array<number>, rows: number, cols: number): Matrix =>
  Array.from({ length: rows }, (_, r) => flat.slice(r * cols, (r + 1) * cols))

// ---------------------------------------------------------------------------------------------
// Arbitraries

interface MCCLCase {
  readonly zOnline: Matrix
  readonly zTarget: Matrix
  readonly va: Matrix
}

const mcclCase = (
  embeddingRow: (cols: number) => fc.Arbitrary<Array<number>>,
  labelRow: (cols: number) => fc.Arbitrary<Array<number>>,
  sizes: { readonly minBatch: number; readonly maxBatch: number; readonly minDim: number; readonly maxDim: number }
): fc.Arbitrary<MCCLCase> =>
  fc
    .record({
      batch: fc.integer({ min: sizes.minBatch, max: sizes.maxBatch }),
      dim: fc.integer({ min: sizes.minDim, max: sizes.maxDim })
    })
    .chain(({ batch, dim }) =>
      fc.record({
        zOnline: matrixArb(batch, dim, embeddingRow),
        zTarget: matrixArb(batch, dim, embeddingRow),
        va: matrixArb(batch, 2, labelRow)
      })
    )

const SMALL_SIZES = { minBatch: 2, maxBatch: 6, minDim: 2, maxDim: 8 } as const

/** Embeddings in [−10, 10] on a 0.01 grid (so a non-zero row has norm ≥ 0.01 ≫ the 1e-8 floor), some rows zero. */
const embeddingRow = rowOrZero(gridValue(-10, 10, 100), 1)
/** Valence–arousal labels in [−1, 1] (Eq. 12's range) on a 0.01 grid, some rows neutral (0, 0). */
const labelRow = rowOrZero(gridValue(-1, 1, 100), 1)

const mcclLossOf = (c: MCCLCase, options: { temperature?: number; labelTemperature?: number } = {}): number =>
  scalarOf(mcclLoss(tf.tensor2d(c.zOnline), tf.tensor2d(c.zTarget), tf.tensor2d(c.va), options))

// ---------------------------------------------------------------------------------------------

forEachBackend("MCCL properties (Eqs. 3–6)", () => {
  test("symmetricSoftmaxCrossEntropy(A, B) equals (B, A), and is non-negative", () => {
    const logits = fc
      .integer({ min: 2, max: 6 })
      .chain((n) => fc.tuple(matrixArb(n, n, rowOrZero(gridValue(-20, 20, 100), 0)), matrixArb(n, n, rowOrZero(gridValue(-20, 20, 100), 0))))
    checkProperty(
      logits,
      ([a, b]) => {
        const ab = scalarOf(symmetricSoftmaxCrossEntropy(tf.tensor2d(a), tf.tensor2d(b)))
        const ba = scalarOf(symmetricSoftmaxCrossEntropy(tf.tensor2d(b), tf.tensor2d(a)))
        assertClose(ba, ab, 1e-6, 1e-6, "L(B, A) vs L(A, B)")
        // Two cross-entropies, each ≥ 0 (up to float32 rounding of log-softmax near 0).
        assert.ok(ab >= -1e-5, `L(A, B) = ${ab} < 0`)
      },
      100
    )
  })

  test("mcclLoss is symmetric in its two distributions: L(P_sim = P(x), P_va = P(y)) = L(P_sim = P(y), P_va = P(x))", () => {
    // With zOnline = zTarget = x and two-column x, y (label shaped), I_sim = cos(x, x) and I_va = cos(y, y);
    // exchanging x ↔ y together with τ ↔ τ_va exchanges P_sim and P_va, which Eq. 6 must not notice.
    const pair = fc
      .integer({ min: 2, max: 6 })
      .chain((n) => fc.tuple(matrixArb(n, 2, labelRow), matrixArb(n, 2, labelRow), fc.double({ min: 0.05, max: 1, noNaN: true }), fc.double({ min: 0.05, max: 1, noNaN: true })))
    checkProperty(
      pair,
      ([x, y, temperature, labelTemperature]) => {
        const forward = mcclLossOf({ zOnline: x, zTarget: x, va: y }, { temperature, labelTemperature })
        const backward = mcclLossOf({ zOnline: y, zTarget: y, va: x }, { temperature: labelTemperature, labelTemperature: temperature })
        assertClose(backward, forward, 1e-5, 1e-5, "L with the distributions exchanged")
      },
      80
    )
  })

  test("mcclLoss is invariant to positive scaling of zOnline, zTarget and the labels", () => {
    const scale = logUniformPositive(-2, 2)
    checkProperty(
      fc.tuple(mcclCase(embeddingRow, labelRow, SMALL_SIZES), scale, scale, scale),
      ([c, a, b, s]) => {
        const original = mcclLossOf(c)
        const scaled = mcclLossOf({ zOnline: scaleMatrix(c.zOnline, a), zTarget: scaleMatrix(c.zTarget, b), va: scaleMatrix(c.va, s) })
        assertClose(scaled, original, 1e-4, 1e-5, `loss after scaling by (${a}, ${b}, ${s})`)
      },
      80
    )
  })

  test("mcclLoss is invariant to permuting the batch (rows of zOnline, zTarget and va together)", () => {
    const withPermutation = mcclCase(embeddingRow, labelRow, SMALL_SIZES).chain((c) =>
      fc.tuple(
        fc.constant(c),
        fc.shuffledSubarray(
          c.zOnline.map((_, i) => i),
          { minLength: c.zOnline.length, maxLength: c.zOnline.length }
        )
      )
    )
    checkProperty(
      withPermutation,
      ([c, permutation]) => {
        const permute = (m: Matrix): Matrix => permutation.map((i) => [...at2(m, i)])
        const original = mcclLossOf(c)
        const permuted = mcclLossOf({ zOnline: permute(c.zOnline), zTarget: permute(c.zTarget), va: permute(c.va) })
        assertClose(permuted, original, 1e-5, 1e-5, `loss after permutation ${permutation.join(",")}`)
      },
      80
    )
  })

  test("mcclLoss is finite and ≥ 0 for every finite float32 input, zero rows and (0, 0) labels included", () => {
    const anyFloat = fc.float({ noNaN: true, noDefaultInfinity: true })
    checkProperty(
      mcclCase(rowOrZero(anyFloat, 2), rowOrZero(anyFloat, 2), SMALL_SIZES),
      (c) => {
        const loss = mcclLossOf(c)
        assert.ok(Number.isFinite(loss), `loss ${loss} is not finite`)
        assert.ok(loss >= -1e-5, `loss ${loss} < 0`)
      },
      100
    )
  })

  test("∂mcclLoss/∂zOnline and ∂mcclLoss/∂zTarget are finite, zero rows included", () => {
    // Magnitudes 1e-12 … 1e6 (tiny rows fall under the 1e-8 floor), half of the rows likely zero.
    const value = logUniformValue(-12, 6)
    checkProperty(
      fc.tuple(mcclCase(rowOrZero(value, 3), labelRow, SMALL_SIZES), fc.constantFrom(0.05, 0.5, 1)),
      ([c, temperature]) => {
        const va = tf.tensor2d(c.va)
        const [gOnline, gTarget] = tf.grads((online: tf.Tensor, target: tf.Tensor) =>
          mcclLoss(online as tf.Tensor2D, target as tf.Tensor2D, va, { temperature, labelTemperature: temperature })
        )([tf.tensor2d(c.zOnline), tf.tensor2d(c.zTarget)])
        assert.ok(gOnline !== undefined && gTarget !== undefined)
        assert.deepEqual(gOnline.shape, [c.zOnline.length, at2(c.zOnline, 0).length])
        assertAllFinite(gOnline.dataSync(), "∂L/∂zOnline")
        assertAllFinite(gTarget.dataSync(), "∂L/∂zTarget")
      },
      80
    )
  })
})

// ---------------------------------------------------------------------------------------------

interface BallCase {
  readonly shape: [number, number, number]
  readonly values: Array<number>
  readonly epsilon: number
}

/** δ of shape [b, s, d]; each last-axis vector has its own magnitude 1e-12 … 1e3, or is zero. */
const deltaArb = fc
  .record({ b: fc.integer({ min: 1, max: 3 }), s: fc.integer({ min: 1, max: 4 }), d: fc.integer({ min: 2, max: 8 }) })
  .chain(({ b, s, d }) =>
    fc
      .array(
        fc.oneof(
          { arbitrary: fc.constant(Array.from({ length: d }, () => 0)), weight: 1 },
          {
            arbitrary: fc
              .tuple(fc.integer({ min: -12, max: 3 }), fc.array(gridValue(-1, 1, 1000), { minLength: d, maxLength: d }))
              .map(([exponent, unit]) => unit.map((u) => Math.fround(u * 10 ** exponent))),
            weight: 6
          }
        ),
        { minLength: b * s, maxLength: b * s }
      )
      .map((vectors) => ({ shape: [b, s, d] as [number, number, number], values: vectors.flat() }))
  )

const project = (values: Array<number>, shape: [number, number, number], epsilon: number): Float32Array =>
  projectToEpsBall(tf.tensor3d(values, shape), epsilon).dataSync() as Float32Array

forEachBackend("projectToEpsBall properties (Eq. 9)", () => {
  test("every projected vector has norm ≤ ε(1 + 1e-5), lands on the sphere when it started outside, and keeps its direction", () => {
    checkProperty(
      fc.tuple(deltaArb, logUniformPositive(-9, 1)).map(([delta, epsilon]): BallCase => ({ ...delta, epsilon })),
      ({ shape, values, epsilon }) => {
        const projected = project(values, shape, epsilon)
        const d = shape[2]
        for (let start = 0; start < values.length; start += d) {
          const before = norm64(values, start, d)
          const after = norm64(projected, start, d)
          assert.ok(after <= epsilon * (1 + 1e-5), `vector at ${start}: norm ${after} > ε = ${epsilon}`)
          if (before > epsilon) assert.ok(after >= epsilon * (1 - 1e-5), `vector at ${start}: norm ${after} fell inside ε = ${epsilon}`)
          // Π only rescales: projected = δ·(‖Π δ‖/‖δ‖) elementwise.
          const ratio = before > 0 ? after / before : 0
          for (let k = start; k < start + d; k++) {
            assertClose(at(projected, k), at(values, k) * ratio, 0, 1e-6 * after, `component ${k}`)
          }
        }
      },
      100
    )
  })

  test("the norm neither overflows nor underflows: vectors 1e-33 … 1e30 land on the sphere when ‖δ‖ > ε", () => {
    // Squares of these overflow (> 1.8e19) or underflow (< 1e-19) in float32. ε stays within 1e30 of ‖δ‖
    // so that ε/‖δ‖ and the projected components stay normal float32 numbers.
    const wide = fc
      .record({ base: fc.integer({ min: -30, max: 30 }), count: fc.integer({ min: 1, max: 6 }), d: fc.integer({ min: 2, max: 8 }) })
      .chain(({ base, count, d }) =>
        fc.tuple(
          fc.constant(d),
          fc.array(
            fc
              .tuple(fc.integer({ min: base - 3, max: base }), fc.array(gridValue(-1, 1, 1000), { minLength: d, maxLength: d }))
              .map(([exponent, unit]) => unit.map((u) => Math.fround(u * 10 ** exponent))),
            { minLength: count, maxLength: count }
          ),
          logUniformPositive(Math.max(base - 30, -35), base + 3)
        )
      )
    checkProperty(
      wide,
      ([d, vectors, epsilon]) => {
        const values = vectors.flat()
        const projected = project(values, [1, vectors.length, d], epsilon)
        for (let start = 0; start < values.length; start += d) {
          const before = norm64(values, start, d)
          const after = norm64(projected, start, d)
          assertClose(after, Math.min(before, epsilon), 1e-5, 0, `norm of vector at ${start} (‖δ‖ = ${before}, ε = ${epsilon})`)
        }
      },
      100
    )
  })

  test("vectors already inside the ball are left unchanged", () => {
    checkProperty(
      fc.tuple(deltaArb, logUniformPositive(-3, 3)),
      ([{ shape, values }, slack]) => {
        let largest = 0
        for (let start = 0; start < values.length; start += shape[2]) largest = Math.max(largest, norm64(values, start, shape[2]))
        const epsilon = largest > 0 ? largest * (1 + slack) : 1
        const projected = project(values, shape, epsilon)
        values.forEach((v, k) => assertClose(at(projected, k), v, 1e-6, 0, `component ${k} (ε = ${epsilon})`))
      },
      100
    )
  })

  test("projection is idempotent: Π(Π(δ)) ≈ Π(δ)", () => {
    checkProperty(
      fc.tuple(deltaArb, logUniformPositive(-9, 1)),
      ([{ shape, values }, epsilon]) => {
        const once = project(values, shape, epsilon)
        const twice = project(Array.from(once), shape, epsilon)
        const d = shape[2]
        for (let start = 0; start < values.length; start += d) {
          const size = norm64(once, start, d)
          for (let k = start; k < start + d; k++) assertClose(at(twice, k), at(once, k), 0, 1e-6 * size, `component ${k}`)
        }
      },
      100
    )
  })
})

// ---------------------------------------------------------------------------------------------

interface FocalCase {
  readonly shape: [number, number]
  readonly logits: Array<number>
  readonly targets: Array<number>
  readonly mask: Array<number>
}

const focalCase = (logit: fc.Arbitrary<number>): fc.Arbitrary<FocalCase> =>
  fc.record({ b: fc.integer({ min: 2, max: 6 }), s: fc.integer({ min: 2, max: 8 }) }).chain(({ b, s }) =>
    fc.record({
      shape: fc.constant([b, s] as [number, number]),
      logits: fc.array(logit, { minLength: b * s, maxLength: b * s }),
      targets: fc.array(fc.constantFrom(0, 1), { minLength: b * s, maxLength: b * s }),
      // Mostly real tokens, sometimes a fully masked batch (whose loss must be 0, not 0/0).
      mask: fc.oneof(
        { arbitrary: fc.constant(Array.from({ length: b * s }, () => 0)), weight: 1 },
        { arbitrary: fc.array(fc.constantFrom(0, 1, 1, 1), { minLength: b * s, maxLength: b * s }), weight: 6 }
      )
    })
  )

const focalOf = (c: FocalCase, gamma: number): number =>
  scalarOf(focalBinaryLoss(tf.tensor2d(c.logits, c.shape), tf.tensor2d(c.targets, c.shape), tf.tensor2d(c.mask, c.shape), { gamma }))

const GAMMAS = [0, 0.5, 1, 2, 5] as const
const logitUpTo80 = fc.double({ min: -80, max: 80, noNaN: true }).map((x) => Math.fround(x))

forEachBackend("focalBinaryLoss properties (Eq. 10)", () => {
  test("is finite and ≥ 0 for logits up to ±80 and any γ ≥ 0", () => {
    checkProperty(
      fc.tuple(focalCase(logitUpTo80), fc.oneof(fc.constantFrom(...GAMMAS), fc.double({ min: 0, max: 5, noNaN: true }))),
      ([c, gamma]) => {
        const loss = focalOf(c, gamma)
        assert.ok(Number.isFinite(loss) && loss >= 0, `loss ${loss} at γ = ${gamma}`)
      },
      100
    )
  })

  test("at γ = 0 it equals binary cross-entropy (computed in float64) over real tokens", () => {
    checkProperty(
      focalCase(logitUpTo80),
      (c) => {
        assertClose(focalOf(c, 0), bce64(c.logits, c.targets, c.mask), 1e-5, 0, "focal at γ = 0 vs BCE")
      },
      100
    )
  })

  test("one token: non-increasing in the logit for target 1, non-increasing as the logit falls for target 0", () => {
    const sortedLogits = fc.array(logitUpTo80, { minLength: 2, maxLength: 10 }).map((xs) => [...xs].sort((p, q) => p - q))
    checkProperty(
      fc.tuple(sortedLogits, fc.constantFrom(...GAMMAS)),
      ([xs, gamma]) => {
        const single = (x: number, target: number): number =>
          scalarOf(focalBinaryLoss(tf.tensor1d([x]), tf.tensor1d([target]), tf.tensor1d([1]), { gamma }))
        const forOne = xs.map((x) => single(x, 1))
        const forZero = xs.map((x) => single(x, 0))
        // Slack of 1e-5 relative for float32 rounding only (tfjs' softplus switches formula near 13.94).
        for (let i = 1; i < xs.length; i++) {
          assert.ok(at(forOne, i) <= at(forOne, i - 1) * (1 + 1e-5), `target 1, γ ${gamma}: L(${at(xs, i)}) = ${at(forOne, i)} > L(${at(xs, i - 1)}) = ${at(forOne, i - 1)}`)
          assert.ok(at(forZero, i - 1) <= at(forZero, i) * (1 + 1e-5), `target 0, γ ${gamma}: L(${at(xs, i - 1)}) = ${at(forZero, i - 1)} > L(${at(xs, i)}) = ${at(forZero, i)}`)
        }
      },
      60
    )
  })
})

// ---------------------------------------------------------------------------------------------

forEachBackend("momentumAt properties (Eq. 2)", () => {
  const schedule = fc.record({ totalSteps: fc.integer({ min: 1, max: 1_000_000 }), initial: fc.double({ min: 0, max: 1, noNaN: true }) })

  test("m(0) = m₀ and m(K) = 1", () => {
    checkProperty(
      schedule,
      ({ totalSteps, initial }) => {
        assertClose(momentumAt(0, totalSteps, initial), initial, 0, 1e-15, "m(0)")
        assert.equal(momentumAt(totalSteps, totalSteps, initial), 1)
      },
      100
    )
  })

  test("m(k) is non-decreasing in k, stays in [m₀, 1], and is 1 from k = K on", () => {
    // Steps up to 2K: past the end of training the momentum must stay at 1.
    const withSteps = schedule.chain((s) =>
      fc.tuple(fc.constant(s), fc.array(fc.integer({ min: 0, max: 2 * s.totalSteps }), { minLength: 2, maxLength: 20 }))
    )
    checkProperty(
      withSteps,
      ([{ totalSteps, initial }, steps]) => {
        const sorted = [...steps].sort((p, q) => p - q)
        const values = sorted.map((k) => momentumAt(k, totalSteps, initial))
        values.forEach((m, i) => {
          assert.ok(m >= initial - 1e-15 && m <= 1, `m(${at(sorted, i)}) = ${m} outside [${initial}, 1]`)
          if (i > 0) assert.ok(m >= at(values, i - 1), `m(${at(sorted, i)}) = ${m} < m(${at(sorted, i - 1)}) = ${at(values, i - 1)}`)
          if (at(sorted, i) >= totalSteps) assert.equal(m, 1, `m(${at(sorted, i)}) with K = ${totalSteps}`)
        })
      },
      100
    )
  })
})

// ---------------------------------------------------------------------------------------------

/** Row with norm ≥ 0.25 in [−1, 1]^d: well away from the 1e-8 floor, so the gradient is moderate. */
const wellConditionedRow = (cols: number): fc.Arbitrary<Array<number>> =>
  fc
    .array(gridValue(-1, 1, 100), { minLength: cols, maxLength: cols })
    .filter((row) => Math.sqrt(row.reduce((sum, v) => sum + v * v, 0)) >= 0.25)

const GRADIENT_SIZES = { minBatch: 2, maxBatch: 4, minDim: 2, maxDim: 4 } as const
const FD_STEP = 1e-5

const checkMCCLAgainstReference = (
  c: MCCLCase,
  temperature: number,
  labelTemperature: number,
  tolerance: { readonly value: number; readonly gradient: number }
): void => {
  const rows = c.zOnline.length
  const cols = at2(c.zOnline, 0).length
  const options = { temperature, labelTemperature }
  const va = tf.tensor2d(c.va)
  const { value, grads } = tf.valueAndGrads((online: tf.Tensor, target: tf.Tensor) =>
    mcclLoss(online as tf.Tensor2D, target as tf.Tensor2D, va, options)
  )([tf.tensor2d(c.zOnline), tf.tensor2d(c.zTarget)])
  const reference = mccl64(c.zOnline, c.zTarget, c.va, temperature, labelTemperature)
  assertClose(scalarOf(value), reference, 1e-4, 1e-6, "tfjs MCCL vs float64 reference")

  const flatOnline = c.zOnline.flat()
  const flatTarget = c.zTarget.flat()
  const numericOnline = centralDifferences((x) => mccl64(reshape(x, rows, cols), c.zTarget, c.va, temperature, labelTemperature), flatOnline, FD_STEP)
  const numericTarget = centralDifferences((x) => mccl64(c.zOnline, reshape(x, rows, cols), c.va, temperature, labelTemperature), flatTarget, FD_STEP)
  const [gOnline, gTarget] = grads
  assert.ok(gOnline !== undefined && gTarget !== undefined)
  const autoOnline = gOnline.dataSync()
  const autoTarget = gTarget.dataSync()
  numericOnline.forEach((g, k) => assertClose(at(autoOnline, k), g, tolerance.gradient, tolerance.gradient, `∂L/∂zOnline[${k}]`))
  numericTarget.forEach((g, k) => assertClose(at(autoTarget, k), g, tolerance.gradient, tolerance.gradient, `∂L/∂zTarget[${k}]`))
}

forEachBackend("values and gradients against float64 references", () => {
  const labelRowWithNeutral = rowOrZero(gridValue(-1, 1, 100), 1)
  const temperatureArb = fc.double({ min: 0.5, max: 1, noNaN: true })

  test("MCCL value and ∂L/∂zOnline, ∂L/∂zTarget match float64 and central differences (τ ∈ [0.5, 1])", () => {
    checkProperty(
      fc.tuple(mcclCase(wellConditionedRow, labelRowWithNeutral, GRADIENT_SIZES), temperatureArb, temperatureArb),
      ([c, temperature, labelTemperature]) => checkMCCLAgainstReference(c, temperature, labelTemperature, { value: 1e-4, gradient: 1e-3 }),
      60
    )
  })

  test("MCCL value and gradients match at the default τ = 0.05 (looser tolerance)", () => {
    checkProperty(
      mcclCase(wellConditionedRow, labelRowWithNeutral, GRADIENT_SIZES),
      (c) => checkMCCLAgainstReference(c, 0.05, 0.05, { value: 1e-4, gradient: 1e-2 }),
      40
    )
  })

  test("focal loss value and ∂L/∂logits match float64 and central differences", () => {
    const moderateLogit = fc.double({ min: -4, max: 4, noNaN: true }).map((x) => Math.fround(x))
    checkProperty(
      fc.tuple(focalCase(moderateLogit), fc.oneof(fc.constantFrom(...GAMMAS), fc.double({ min: 0, max: 5, noNaN: true }))),
      ([c, gamma]) => {
        const targets = tf.tensor2d(c.targets, c.shape)
        const mask = tf.tensor2d(c.mask, c.shape)
        const { value, grad } = tf.valueAndGrad((logits: tf.Tensor) => focalBinaryLoss(logits, targets, mask, { gamma }))(
          tf.tensor2d(c.logits, c.shape)
        )
        assertClose(scalarOf(value), focal64(c.logits, c.targets, c.mask, gamma), 1e-4, 1e-7, `focal value at γ = ${gamma}`)
        const numeric = centralDifferences((x) => focal64(x, c.targets, c.mask, gamma), c.logits, FD_STEP)
        const automatic = grad.dataSync()
        numeric.forEach((g, k) => assertClose(at(automatic, k), g, 1e-3, 1e-3, `∂L/∂logit[${k}] at γ = ${gamma}`))
      },
      80
    )
  })
})
