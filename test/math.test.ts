/**
 * Hand-checked cases for the CARL math (Eqs. 2, 3–6, 7–9, 10), on every CPU backend. Each expected
 * value is derived in the comment next to it, from EQUATIONS.md, in closed form; the decimals are
 * those closed forms evaluated.
 */
import * as tf from "@tensorflow/tfjs"
import assert from "node:assert/strict"
import { test } from "node:test"
import { cosineMatrix } from "../core/cosine-similarity.ts"
import { mcclLoss } from "../plugins/carl/mccl/mccl-loss.ts"
import { momentumAt } from "../plugins/carl/momentum/momentum-schedule.ts"
import { focalBinaryLoss } from "../plugins/carl/ptd/focal-loss.ts"
import { projectToEpsBall } from "../plugins/carl/saliency-pgd/eps-ball.ts"
import { pgdPerturbation } from "../plugins/carl/saliency-pgd/pgd.ts"
import { selectTopTokens, tokenSaliency } from "../plugins/carl/saliency-pgd/saliency.ts"
import { forEachBackend } from "./support/backends.ts"

const assertClose = (actual: number | undefined, expected: number, tolerance: number, what: string): void => {
  assert.ok(actual !== undefined, `${what}: missing value`)
  // Written so that NaN fails.
  if (!(Math.abs(actual - expected) <= tolerance)) assert.fail(`${what}: got ${actual}, expected ${expected} ± ${tolerance}`)
}

const assertAllClose = (actual: tf.Tensor, expected: ReadonlyArray<number>, tolerance: number, what: string): void => {
  const values = actual.dataSync()
  assert.equal(values.length, expected.length, `${what}: length`)
  expected.forEach((e, i) => assertClose(values[i], e, tolerance, `${what}[${i}]`))
}

const scalarOf = (tensor: tf.Tensor): number => {
  const value = tensor.dataSync()[0]
  assert.ok(value !== undefined)
  return value
}

// Constants used below: ℓ_a = ln(1 + e^a), p_a = e^a/(1 + e^a) = softmax([a, 0])[0], q_a = 1 − p_a.
const E = Math.E
const ell1 = Math.log(1 + E) // 1.3132616875182228
const p1 = E / (1 + E) // 0.7310585786300049
const q1 = 1 / (1 + E) // 0.2689414213699951
const ell2 = Math.log(1 + E * E) // 2.1269280110429727
const p2 = (E * E) / (1 + E * E) // 0.8807970779778823

forEachBackend("MCCL by hand (Eqs. 3–6)", () => {
  const identity = [
    [1, 0],
    [0, 1]
  ]
  const mccl = (zOnline: Array<Array<number>>, zTarget: Array<Array<number>>, va: Array<Array<number>>, temperature: number, labelTemperature: number): number =>
    tf.tidy(() => scalarOf(mcclLoss(tf.tensor2d(zOnline), tf.tensor2d(zTarget), tf.tensor2d(va), { temperature, labelTemperature })))

  test("N = 2, zOnline = zTarget = va = I, τ = τ_va = 1: L = 2(ℓ₁ − p₁)", () => {
    // I_sim = I_va = I (unit, orthogonal rows). Each row's softmax of [1, 0] (or [0, 1]) puts p₁ on the
    // diagonal and q₁ off it, so P_sim = P_va. Per row, Σ_j [P_sim·log P_va + P_va·log P_sim]
    // = 2(p₁ log p₁ + q₁ log q₁), and with log p₁ = 1 − ℓ₁, log q₁ = −ℓ₁:
    //   p₁ log p₁ + q₁ log q₁ = p₁(1 − ℓ₁) − q₁ℓ₁ = p₁ − ℓ₁.
    // L = −(1/2)·(2 rows)·2(p₁ − ℓ₁) = 2(ℓ₁ − p₁) = 2(1.3132616875 − 0.7310585786) = 1.1644062178.
    assertClose(mccl(identity, identity, identity, 1, 1), 2 * (ell1 - p1), 1e-5, "L")
    assertClose(mccl(identity, identity, identity, 1, 1), 1.1644062178, 1e-5, "L (decimal)")
  })

  test("a neutral (0, 0) label row gives a label cosine row of 0, i.e. a uniform P_va row", () => {
    // va = [[0,0],[1,0]]: cos(va₀, ·) = 0 (zero vector), cos(va₁, va₁) = 1, so I_va = [[0,0],[0,1]].
    // τ = 1: P_va = [[½, ½], [q₁, p₁]]; zOnline = zTarget = I: P_sim = [[p₁, q₁], [q₁, p₁]].
    // Row 0: P_sim·log P_va = (p₁ + q₁)·log ½ = −ln 2;  P_va·log P_sim = ½(log p₁ + log q₁) = ½(1 − 2ℓ₁).
    // Row 1: P_sim = P_va = [q₁, p₁], both terms p₁ log p₁ + q₁ log q₁ = p₁ − ℓ₁, so 2(p₁ − ℓ₁).
    // Σ = −ln 2 + ½ − ℓ₁ + 2p₁ − 2ℓ₁ = −ln 2 + ½ + 2p₁ − 3ℓ₁;  L = −Σ/2 = ½ ln 2 − ¼ − p₁ + (3/2)ℓ₁
    //   = 0.3465735903 − 0.25 − 0.7310585786 + 1.9698925313 = 1.3354075429.
    const va = [
      [0, 0],
      [1, 0]
    ]
    const expected = 0.5 * Math.LN2 - 0.25 - p1 + 1.5 * ell1
    assertClose(mccl(identity, identity, va, 1, 1), expected, 1e-5, "L")
    assertClose(mccl(identity, identity, va, 1, 1), 1.3354075429, 1e-5, "L (decimal)")
  })

  test("mismatched geometry costs more: zTarget = swapped rows gives L = 2(ℓ₁ − q₁)", () => {
    // zTarget = [[0,1],[1,0]]: I_sim = [[0,1],[1,0]], so P_sim = [[q₁, p₁], [p₁, q₁]] while P_va = [[p₁, q₁], [q₁, p₁]].
    // Each row: P_sim·log P_va + P_va·log P_sim = 2(q₁ log p₁ + p₁ log q₁) = 2(q₁(1 − ℓ₁) − p₁ℓ₁) = 2(q₁ − ℓ₁).
    // L = −(1/2)·2·2(q₁ − ℓ₁) = 2(ℓ₁ − q₁) = 2(1.3132616875 − 0.2689414214) = 2.0886405323 (> 1.1644 above).
    const swapped = [
      [0, 1],
      [1, 0]
    ]
    assertClose(mccl(identity, swapped, identity, 1, 1), 2 * (ell1 - q1), 1e-5, "L")
    assertClose(mccl(identity, swapped, identity, 1, 1), 2.0886405323, 1e-5, "L (decimal)")
  })

  test("the temperature divides the cosines: τ = τ_va = 0.5 gives L = 2(ℓ₂ − 2p₂)", () => {
    // Same as the first case with logits [1, 0]/0.5 = [2, 0]: log p₂ = 2 − ℓ₂, log q₂ = −ℓ₂, so
    // p₂ log p₂ + q₂ log q₂ = 2p₂ − ℓ₂ and L = −(1/2)·2·2(2p₂ − ℓ₂) = 2(ℓ₂ − 2p₂)
    //   = 2(2.1269280110 − 1.7615941560) = 0.7306677102.
    assertClose(mccl(identity, identity, identity, 0.5, 0.5), 2 * (ell2 - 2 * p2), 1e-5, "L")
    assertClose(mccl(identity, identity, identity, 0.5, 0.5), 0.7306677102, 1e-5, "L (decimal)")
  })

  test("a zero zOnline row has cosine 0 with everything (uniform P_sim row); a scaled row keeps its cosines", () => {
    // zOnline = [[0,0],[0,5]] (second row scaled by 5: same direction as [0,1]), zTarget = va = I, τ = 1.
    // P_sim = [[½, ½], [q₁, p₁]], P_va = [[p₁, q₁], [q₁, p₁]] — the previous neutral-label case with the roles
    // of sim and va exchanged, and Eq. 6 is symmetric in them, so L = ½ ln 2 − ¼ − p₁ + (3/2)ℓ₁ again.
    const zOnline = [
      [0, 0],
      [0, 5]
    ]
    assertClose(mccl(zOnline, identity, identity, 1, 1), 0.5 * Math.LN2 - 0.25 - p1 + 1.5 * ell1, 1e-5, "L")
  })

  test("the cosine's denominator is max(‖a‖·‖b‖, 1e-8) (EQUATIONS.md), not a per-vector floor", () => {
    // a = [1e-5, 0], b = [1e-5, 0], c = [0, 1]: a·b = 1e-10 and ‖a‖·‖b‖ = 1e-10 < 1e-8, so
    // cos(a, b) = 1e-10 / 1e-8 = 0.01; cos(a, c) = 0; ‖b‖·‖c‖ = 1e-5 ≥ 1e-8 so cos(b, c) = 0 and cos(c, c) = 1.
    const value = tf.tidy(() => cosineMatrix(tf.tensor2d([[1e-5, 0]]), tf.tensor2d([[1e-5, 0], [0, 1]])).arraySync())
    assertClose(value[0]?.[0], 0.01, 1e-6, "cos(a, b)")
    assertClose(value[0]?.[1], 0, 1e-9, "cos(a, c)")
    // Far above the floor the floor plays no part: huge rows give plain cosines without overflow.
    const huge = tf.tidy(() => cosineMatrix(tf.tensor2d([[3e30, 4e30]]), tf.tensor2d([[4e30, 3e30]])).arraySync())
    assertClose(huge[0]?.[0], 24 / 25, 1e-6, "cos of huge rows")
  })
})

forEachBackend("focalBinaryLoss by hand (Eq. 10)", () => {
  const focal = (logits: Array<number>, targets: Array<number>, mask: Array<number>, gamma: number): number =>
    tf.tidy(() => scalarOf(focalBinaryLoss(tf.tensor1d(logits), tf.tensor1d(targets), tf.tensor1d(mask), { gamma })))

  test("logit 0, target 1, γ = 2: (1 − ½)²·ln 2 = ¼ ln 2", () => {
    // p_t = σ(0) = ½, so FL = −(1 − ½)²·log ½ = ¼·ln 2 = 0.1732867951.
    assertClose(focal([0], [1], [1], 2), 0.25 * Math.LN2, 1e-6, "FL")
    assertClose(focal([0], [1], [1], 2), 0.1732867951, 1e-6, "FL (decimal)")
    // The default γ is 2.
    assertClose(tf.tidy(() => scalarOf(focalBinaryLoss(tf.tensor1d([0]), tf.tensor1d([1]), tf.tensor1d([1])))), 0.25 * Math.LN2, 1e-6, "default γ")
  })

  test("mean over real tokens: logits [0, −ln 3], targets [1, 0]", () => {
    // Token 2: target 0, p_t = 1 − σ(−ln 3) = 1 − ¼ = ¾.
    // γ = 0 (BCE): (ln 2 + ln(4/3))/2 = ln(8/3)/2 = 0.4904146265.
    // γ = 2: token 1 gives ¼ ln 2, token 2 gives (1 − ¾)²·ln(4/3) = ln(4/3)/16, mean
    //   (¼ ln 2 + ln(4/3)/16)/2 = (0.1732867951 + 0.0179801295)/2 = 0.0956334623.
    const logits = [0, -Math.log(3)]
    assertClose(focal(logits, [1, 0], [1, 1], 0), Math.log(8 / 3) / 2, 1e-6, "γ = 0")
    assertClose(focal(logits, [1, 0], [1, 1], 2), (0.25 * Math.LN2 + Math.log(4 / 3) / 16) / 2, 1e-6, "γ = 2")
    assertClose(focal(logits, [1, 0], [1, 1], 2), 0.0956334623, 1e-6, "γ = 2 (decimal)")
  })

  test("masked-out tokens neither add to the sum nor to the count", () => {
    // Token 2 is padding with a large loss (target 0, logit 3: p_t = σ(−3) ≈ 0.047, FL ≈ 2.76); masked out,
    // the mean is token 1's ¼ ln 2 alone (not (¼ ln 2 + 2.76)/2, not ¼ ln 2 / 2).
    assertClose(focal([0, 3], [1, 0], [1, 0], 2), 0.25 * Math.LN2, 1e-6, "FL")
  })

  test("an all-masked input gives 0, not 0/0 = NaN", () => {
    // Σ mask = 0, so the denominator is max(0, 1) = 1 and the masked sum is 0.
    assert.equal(focal([1, -2], [1, 0], [0, 0], 2), 0)
    assert.equal(focal([1, -2], [1, 0], [0, 0], 0), 0)
  })
})

forEachBackend("projectToEpsBall by hand (Eq. 9)", () => {
  const project = (values: Array<number>, shape: Array<number>, epsilon: number): tf.Tensor => projectToEpsBall(tf.tensor(values, shape), epsilon)

  test("[3, 4] with ε = 1 → [0.6, 0.8]", () => {
    // ‖δ‖ = 5 > 1, so δ·(1/5).
    tf.tidy(() => assertAllClose(project([3, 4], [2], 1), [0.6, 0.8], 1e-7, "Π"))
  })

  test("[0.3, 0.4] with ε = 1 is unchanged, [0, 0] stays [0, 0]", () => {
    // ‖δ‖ = 0.5 ≤ 1: min(1, 1/0.5) = 1. A zero vector has no direction and stays 0 (no 0/0).
    tf.tidy(() => {
      assert.deepEqual(Array.from(project([0.3, 0.4], [2], 1).dataSync()), [Math.fround(0.3), Math.fround(0.4)])
      assert.deepEqual(Array.from(project([0, 0], [2], 1).dataSync()), [0, 0])
    })
  })

  test("a [2, 2, 2] batch projects each last-axis vector on its own", () => {
    // [3,4] (‖·‖ 5) → [0.6, 0.8]; [0.3,0.4] (0.5) unchanged; [0,0] unchanged; [−6,8] (10) → [−0.6, 0.8].
    tf.tidy(() => {
      const projected = project([3, 4, 0.3, 0.4, 0, 0, -6, 8], [2, 2, 2], 1)
      assert.deepEqual(projected.shape, [2, 2, 2])
      assertAllClose(projected, [0.6, 0.8, 0.3, 0.4, 0, 0, -0.6, 0.8], 1e-7, "Π")
    })
  })

  test("the paper's ε = 5e-9: [3e-9, 4e-9] stays, [6e-9, 8e-9] halves", () => {
    // ‖[3e-9, 4e-9]‖ = 5e-9 ≤ ε (on the sphere, scale min(1, 1) = 1); ‖[6e-9, 8e-9]‖ = 1e-8 → scale ½.
    tf.tidy(() => assertAllClose(project([3e-9, 4e-9, 6e-9, 8e-9], [2, 2], 5e-9), [3e-9, 4e-9, 3e-9, 4e-9], 1e-15, "Π"))
  })
})

forEachBackend("momentumAt by hand (Eq. 2)", () => {
  test("m(0) = m₀, m(K/2) = 1 − (1 − m₀)/2, m(K) = 1", () => {
    // m(k) = 1 − (1 − m₀)(cos(πk/K) + 1)/2 with m₀ = 0.9996, K = 100:
    //   k = 0:   cos 0 = 1,     m = 1 − 0.0004 = 0.9996
    //   k = 50:  cos(π/2) = 0,  m = 1 − 0.0004/2 = 0.9998
    //   k = 100: cos π = −1,    m = 1
    assertClose(momentumAt(0, 100, 0.9996), 0.9996, 1e-15, "m(0)")
    assertClose(momentumAt(50, 100, 0.9996), 0.9998, 1e-15, "m(50)")
    assert.equal(momentumAt(100, 100, 0.9996), 1)
    // k = 25: cos(π/4) = √2/2, m = 1 − 0.0004·(1 + √2/2)/2 = 1 − 0.0002·1.7071067812 = 0.9996585786.
    assertClose(momentumAt(25, 100, 0.9996), 0.9996585786, 1e-10, "m(25)")
    // Past the end, the momentum stays at 1; the default m₀ is the paper's 0.9996.
    assert.equal(momentumAt(150, 100, 0.9996), 1)
    assertClose(momentumAt(0, 100), 0.9996, 1e-15, "default m₀")
  })
})

forEachBackend("tokenSaliency + selectTopTokens by hand (Eq. 7)", () => {
  // [2, 5, 2] gradient. Sentence 0: five real tokens with ‖g‖ = 1, 5, 2, 10, √2.
  // Sentence 1: three real tokens with ‖g‖ = 3, 5, 1, then two padding tokens with ‖g‖ = 100 and 50.
  const gradient = [
    [[1, 0], [3, 4], [0, 2], [-6, 8], [1, 1]],
    [[0, 3], [4, 3], [1, 0], [60, 80], [0, 50]]
  ]
  const mask = [
    [1, 1, 1, 1, 1],
    [1, 1, 1, 0, 0]
  ]

  test("saliency is ‖∂L/∂e_t‖₂ on real tokens and −1 on padding", () => {
    tf.tidy(() => {
      const saliency = tokenSaliency(tf.tensor3d(gradient), tf.tensor2d(mask))
      assertAllClose(saliency, [1, 5, 2, 10, Math.SQRT2, 3, 5, 1, -1, -1], 1e-5, "saliency")
    })
  })

  test("top ⌈10%⌉: one token per sentence, the largest-norm real token; padding is never chosen", () => {
    // Sentence 0: ⌈0.1·5⌉ = 1 → token 3 (‖g‖ 10). Sentence 1: ⌈0.1·3⌉ = 1 → token 1 (‖g‖ 5), not the
    // padding token 3 whose gradient norm 100 is the largest in the batch.
    tf.tidy(() => {
      const m = tf.tensor2d(mask)
      const selected = selectTopTokens(tokenSaliency(tf.tensor3d(gradient), m), m, 0.1)
      assert.deepEqual(Array.from(selected.dataSync()), [0, 0, 0, 1, 0, 0, 1, 0, 0, 0])
    })
  })

  test("fraction 0.5: ⌈2.5⌉ = 3 of 5 and ⌈1.5⌉ = 2 of 3 real tokens", () => {
    // Sentence 0 by norm: 10 (t3), 5 (t1), 2 (t2). Sentence 1: 5 (t1), 3 (t0); padding still excluded.
    tf.tidy(() => {
      const m = tf.tensor2d(mask)
      const selected = selectTopTokens(tokenSaliency(tf.tensor3d(gradient), m), m, 0.5)
      assert.deepEqual(Array.from(selected.dataSync()), [0, 1, 1, 1, 0, 1, 1, 0, 0, 0])
    })
  })

  test("the count is a ceiling, exact on whole numbers: ⌈0.25·5⌉ = 2, and 0.28·25 selects 7 (not 8)", () => {
    // Saliency t ↦ 25 − t (gradient [25 − t, 0]), so the top tokens are the first ones.
    // fraction 0.25 of five real tokens: 0.25·5 = 1.25 → 2 tokens (rounding to nearest would give 1).
    // fraction 0.28 of 25: 0.28·25 = 7 exactly, but in float64 it is 7.000000000000001; ⌈·⌉ must give 7.
    tf.tidy(() => {
      const g = tf.tensor3d([Array.from({ length: 25 }, (_, t) => [25 - t, 0])])
      const five = tf.tensor2d([Array.from({ length: 25 }, (_, t) => (t < 5 ? 1 : 0))])
      const all = tf.ones([1, 25]) as tf.Tensor2D
      const firstN = (n: number): Array<number> => Array.from({ length: 25 }, (_, t) => (t < n ? 1 : 0))
      assert.deepEqual(Array.from(selectTopTokens(tokenSaliency(g, five), five, 0.25).dataSync()), firstN(2))
      assert.deepEqual(Array.from(selectTopTokens(tokenSaliency(g, all), all, 0.28).dataSync()), firstN(7))
    })
  })

  test("ties go to the earlier token; a sentence with no real tokens selects nothing", () => {
    // Sentence 0: ‖[3,4]‖ = ‖[4,3]‖ = ‖[0,5]‖ = 5, one to choose → token 0. Sentence 1 is all padding.
    tf.tidy(() => {
      const m = tf.tensor2d([
        [1, 1, 1],
        [0, 0, 0]
      ])
      const g = tf.tensor3d([
        [[3, 4], [4, 3], [0, 5]],
        [[1, 1], [2, 2], [3, 3]]
      ])
      assert.deepEqual(Array.from(selectTopTokens(tokenSaliency(g, m), m, 0.1).dataSync()), [1, 0, 0, 0, 0, 0])
    })
  })
})

forEachBackend("pgdPerturbation by hand (Eqs. 8–9)", () => {
  // One sentence, three tokens, H = 4; every gradient component is non-zero.
  const embeddings = [[[0.1, 0.2, 0.3, 0.4], [0.5, -0.5, 1.5, -1.5], [2, 2, 2, 2]]]
  const gradient = [[[0.5, -2, 3, -0.1], [-1, 2, -0.3, 4], [7, -7, 0.2, 1]]]
  const signOfToken1 = [-1, 1, -1, 1]
  const noFurtherGradient = (): tf.Tensor3D => assert.fail("with steps = 1 the start gradient is reused; gradientAt must not be called")

  test("steps = 1, α√H > ε: selected tokens get δ = ε·sign(g)/√H, the others 0", () => {
    // δ = Π(0 + α·sign(g)) with α = 1: ‖sign(g)‖ = √4 = 2 > ε = 0.5, so δ_t = sign(g_t)·0.5/2 = ±0.25 (‖δ_t‖ = ε).
    tf.tidy(() => {
      const delta = pgdPerturbation(tf.tensor3d(embeddings), tf.tensor3d(gradient), tf.tensor2d([[0, 1, 0]]), noFurtherGradient, {
        epsilon: 0.5,
        alpha: 1,
        steps: 1
      })
      assertAllClose(delta, [0, 0, 0, 0, ...signOfToken1.map((s) => 0.25 * s), 0, 0, 0, 0], 1e-7, "δ")
    })
  })

  test("steps = 1, α√H ≤ ε: the step is inside the ball, δ = α·sign(g)", () => {
    // α = 0.1: ‖α·sign(g)‖ = 0.2 ≤ ε = 0.5, so Π leaves it. Tokens 0 and 2 selected.
    tf.tidy(() => {
      const delta = pgdPerturbation(tf.tensor3d(embeddings), tf.tensor3d(gradient), tf.tensor2d([[1, 0, 1]]), noFurtherGradient, {
        epsilon: 0.5,
        alpha: 0.1,
        steps: 1
      })
      assertAllClose(delta, [0.1, -0.1, 0.1, -0.1, 0, 0, 0, 0, 0.1, -0.1, 0.1, 0.1], 1e-7, "δ")
    })
  })

  test("steps = 2: the second gradient is taken at e + δ¹, and the result is projected again", () => {
    // Step 1 as in the first case: δ¹ = 0.25·sign(g) on token 1. Step 2 asks for the gradient at e + δ¹;
    // it returns −g, so δ² = Π(δ¹ − 1·sign(g)) = Π(−0.75·sign(g)) = −0.25·sign(g) (norm 1.5 → 0.5).
    const seen: Array<Array<number>> = []
    tf.tidy(() => {
      const negated = tf.neg(tf.tensor3d(gradient)) as tf.Tensor3D
      const delta = pgdPerturbation(
        tf.tensor3d(embeddings),
        tf.tensor3d(gradient),
        tf.tensor2d([[0, 1, 0]]),
        (perturbed) => {
          seen.push(Array.from(perturbed.dataSync()))
          return negated
        },
        { epsilon: 0.5, alpha: 1, steps: 2 }
      )
      assertAllClose(delta, [0, 0, 0, 0, ...signOfToken1.map((s) => -0.25 * s), 0, 0, 0, 0], 1e-7, "δ²")
    })
    assert.equal(seen.length, 1)
    const expectedPoint = embeddings.flat(2).map((v, i) => v + (i >= 4 && i < 8 ? 0.25 * (signOfToken1[i - 4] ?? 0) : 0))
    expectedPoint.forEach((v, i) => assertClose(seen[0]?.[i], v, 1e-6, `e + δ¹ [${i}]`))
  })
})

forEachBackend("no tensor leaks", () => {
  test("mcclLoss, focalBinaryLoss, projectToEpsBall (and the saliency/PGD helpers) free their intermediates", () => {
    const zOnline = tf.tensor2d([[1, 2, 0], [0, 0, 0], [-1, 0.5, 3]])
    const zTarget = tf.tensor2d([[0, 1, 1], [2, 0, 0], [0, 0, 0]])
    const va = tf.tensor2d([[0.5, -0.2], [0, 0], [-1, 1]])
    const logits = tf.tensor2d([[0.5, -3, 2], [1, 0, -1]])
    const targets = tf.tensor2d([[1, 0, 0], [0, 1, 1]])
    const mask = tf.tensor2d([[1, 1, 0], [1, 1, 1]])
    const delta = tf.tensor3d([[[3, 4], [0, 0]], [[0.1, 0.1], [-6, 8]]])
    const selected = tf.tensor2d([[1, 0], [0, 1]])
    const before = tf.memory().numTensors
    for (let i = 0; i < 20; i++) {
      mcclLoss(zOnline, zTarget, va).dispose()
      focalBinaryLoss(logits, targets, mask).dispose()
      projectToEpsBall(delta, 1).dispose()
      const saliency = tokenSaliency(delta, selected)
      selectTopTokens(saliency, selected, 0.1).dispose()
      saliency.dispose()
      pgdPerturbation(delta, delta, selected, () => assert.fail("steps = 1"), { epsilon: 1, alpha: 1, steps: 1 }).dispose()
    }
    assert.equal(tf.memory().numTensors, before)
    tf.dispose([zOnline, zTarget, va, logits, targets, mask, delta, selected])
  })
})
