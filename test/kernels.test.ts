/**
 * The hand-written kernels against tfjs's own: dense (custom backward) against denseReference,
 * and embeddingLookup (scatter-add backward) against tf.gather, on cpu and on wasm.
 */
import assert from "node:assert/strict"
import { after, before, describe, test } from "node:test"
import * as tf from "@tensorflow/tfjs"
import "./support/backends.ts"
import { dense, denseReference } from "../core/dense.ts"
import { embeddingLookup } from "../core/embedding-lookup.ts"
import { SeededRandom } from "../core/random.ts"

const TOLERANCE = 1e-5

const assertClose = (actual: ArrayLike<number>, expected: ArrayLike<number>, label: string): void => {
  assert.equal(actual.length, expected.length, `${label}: length`)
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] ?? Number.NaN
    const e = expected[i] ?? Number.NaN
    assert.ok(Math.abs(a - e) <= TOLERANCE * Math.max(1, Math.abs(e)), `${label}[${i}]: ${a} vs ${e}`)
  }
}

const useBackend = async (name: "cpu" | "wasm"): Promise<void> => {
  await tf.setBackend(name)
  await tf.ready()
  assert.equal(tf.getBackend(), name)
}

/** Deterministic inputs: x [2, 3, 5] (rank 3), W [5, 4], b [4], an upstream weighting c [2, 3, 4]. */
const denseInputs = () => {
  const random = new SeededRandom(101)
  return {
    x: tf.tensor3d(random.normalArray(2 * 3 * 5, 1), [2, 3, 5]),
    weight: tf.tensor2d(random.normalArray(5 * 4, 0.5), [5, 4]),
    bias: tf.tensor1d(random.normalArray(4, 0.5)),
    upstream: tf.tensor3d(random.normalArray(2 * 3 * 4, 1), [2, 3, 4])
  }
}

type DenseFn = (x: tf.Tensor, weight: tf.Tensor2D, bias: tf.Tensor1D) => tf.Tensor

/** Value and gradients with respect to (x, weight, bias) of sum(f(x, W, b) * c), as plain arrays. */
const denseValueAndGrads = (f: DenseFn) => {
  const { x, weight, bias, upstream } = denseInputs()
  const value = f(x, weight, bias)
  const grads = tf.grads((a: tf.Tensor, w: tf.Tensor, b: tf.Tensor) =>
    tf.sum(tf.mul(f(a, w as tf.Tensor2D, b as tf.Tensor1D), upstream))
  )([x, weight, bias])
  const result = {
    shape: value.shape,
    value: value.dataSync(),
    grads: grads.map((g) => ({ shape: g.shape, data: g.dataSync() }))
  }
  tf.dispose([x, weight, bias, upstream, value, ...grads])
  return result
}

/** A table [6, 4] and ids [2, 5] with repeats (0 three times, 2 three times, 5 twice) and rows 3, 4 unused. */
const VOCAB = 6
const HIDDEN = 4
const IDS = [
  [0, 2, 2, 5, 1],
  [0, 2, 5, 0, 1]
]
const embeddingInputs = () => {
  const random = new SeededRandom(202)
  return {
    table: tf.tensor2d(random.normalArray(VOCAB * HIDDEN, 1), [VOCAB, HIDDEN]),
    ids: tf.tensor2d(IDS, [2, 5], "int32"),
    upstream: tf.tensor3d(random.normalArray(2 * 5 * HIDDEN, 1), [2, 5, HIDDEN])
  }
}

type LookupFn = (table: tf.Tensor2D, ids: tf.Tensor) => tf.Tensor

const lookupValueAndGrad = (f: LookupFn) => {
  const { table, ids, upstream } = embeddingInputs()
  const value = f(table, ids)
  const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t as tf.Tensor2D, ids), upstream)))(table)
  const result = { shape: value.shape, value: value.dataSync(), gradShape: grad.shape, grad: grad.dataSync() }
  tf.dispose([table, ids, upstream, value, grad])
  return result
}

/** The expected table gradient, by hand: row r sums the upstream rows at the positions holding id r. */
const expectedTableGrad = (): Float32Array => {
  const { table, ids, upstream } = embeddingInputs()
  const c = upstream.arraySync()
  tf.dispose([table, ids, upstream])
  const out = new Float32Array(VOCAB * HIDDEN)
  IDS.forEach((row, i) =>
    row.forEach((id, j) => {
      for (let h = 0; h < HIDDEN; h++) out[id * HIDDEN + h] = (out[id * HIDDEN + h] ?? 0) + (c[i]?.[j]?.[h] ?? Number.NaN)
    })
  )
  return out
}

const gatherLookup: LookupFn = (table, ids) => tf.gather(table, ids)

after(async () => {
  await useBackend("cpu")
})

describe("kernels on cpu", () => {
  before(async () => {
    await useBackend("cpu")
  })

  test("dense equals denseReference in value and in gradients w.r.t. x, weight and bias (x of rank 3)", () => {
    const ours = denseValueAndGrads(dense)
    const reference = denseValueAndGrads(denseReference)
    assert.deepEqual(ours.shape, [2, 3, 4])
    assert.deepEqual(reference.shape, [2, 3, 4])
    assertClose(ours.value, reference.value, "value")
    assert.equal(ours.grads.length, 3)
    const names = ["dx", "dW", "db"]
    const shapes = [
      [2, 3, 5],
      [5, 4],
      [4]
    ]
    ours.grads.forEach((grad, i) => {
      const expected = reference.grads[i]
      assert.ok(expected !== undefined)
      assert.deepEqual(grad.shape, shapes[i], `${names[i]} shape`)
      assert.deepEqual(expected.shape, shapes[i])
      assertClose(grad.data, expected.data, names[i] ?? "grad")
      assert.ok(grad.data.some((v) => v !== 0), `${names[i]} is not all zero`)
    })
  })

  test("dense computes x·W + b (checked by hand for one entry)", () => {
    const { x, weight, bias, upstream } = denseInputs()
    const y = dense(x, weight, bias)
    const xs = x.arraySync()
    const ws = weight.arraySync()
    const bs = bias.arraySync()
    let expected = bs[2] ?? Number.NaN
    for (let k = 0; k < 5; k++) expected += (xs[1]?.[2]?.[k] ?? Number.NaN) * (ws[k]?.[2] ?? Number.NaN)
    const actual = y.arraySync()[1]?.[2]?.[2] ?? Number.NaN
    assert.ok(Math.abs(actual - expected) < 1e-5, `${actual} vs ${expected}`)
    tf.dispose([x, weight, bias, upstream, y])
  })

  test("embeddingLookup equals tf.gather in value and table gradient, accumulating repeated ids", () => {
    const ours = lookupValueAndGrad(embeddingLookup)
    const reference = lookupValueAndGrad(gatherLookup)
    assert.deepEqual(ours.shape, [2, 5, HIDDEN])
    assert.deepEqual(reference.shape, [2, 5, HIDDEN])
    assert.deepEqual(Array.from(ours.value), Array.from(reference.value), "the same rows")
    assert.deepEqual(ours.gradShape, [VOCAB, HIDDEN])
    assertClose(ours.grad, reference.grad, "table gradient vs tf.gather")
    assertClose(ours.grad, expectedTableGrad(), "table gradient vs the hand sum")
    for (const unused of [3, 4]) {
      assert.deepEqual(Array.from(ours.grad.slice(unused * HIDDEN, (unused + 1) * HIDDEN)), [0, 0, 0, 0], `row ${unused} unused`)
    }
  })

  test("dense leaks no tensors over 10 forward+backward calls", () => {
    const { x, weight, bias, upstream } = denseInputs()
    const loss = (a: tf.Tensor, w: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(dense(a, w as tf.Tensor2D, b as tf.Tensor1D), upstream))

    const inTidy = tf.memory().numTensors
    for (let i = 0; i < 10; i++) {
      tf.tidy(() => {
        tf.grads(loss)([x, weight, bias])
      })
    }
    assert.equal(tf.memory().numTensors, inTidy, "inside tf.tidy")

    // Without tidy, only the three returned gradients may remain: dense's own intermediates must not.
    for (let i = 0; i < 10; i++) {
      const before = tf.memory().numTensors
      const grads = tf.grads(loss)([x, weight, bias])
      assert.equal(tf.memory().numTensors - before, 3, "only the gradients are new")
      tf.dispose(grads)
      const y = dense(x, weight, bias)
      assert.equal(tf.memory().numTensors - before, 1, "a forward pass leaves only its output")
      y.dispose()
    }
    assert.equal(tf.memory().numTensors, inTidy)
    tf.dispose([x, weight, bias, upstream])
  })
})

describe("kernels on wasm", () => {
  before(async () => {
    await useBackend("wasm")
  })

  test("tf.gather's own gradient throws on wasm (why embeddingLookup has a custom gradient)", () => {
    const { table, ids, upstream } = embeddingInputs()
    const value = tf.gather(table, ids)
    assert.deepEqual(value.shape, [2, 5, HIDDEN], "the forward pass itself works")
    assert.throws(
      () => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, ids), upstream)))(table),
      /UnsortedSegmentSum/
    )
    tf.dispose([table, ids, upstream, value])
  })

  test("embeddingLookup's gradient works on wasm and equals the cpu result", async () => {
    await useBackend("cpu")
    const cpu = lookupValueAndGrad(embeddingLookup)
    await useBackend("wasm")
    const wasm = lookupValueAndGrad(embeddingLookup)
    assert.deepEqual(wasm.shape, cpu.shape)
    assert.deepEqual(Array.from(wasm.value), Array.from(cpu.value))
    assert.deepEqual(wasm.gradShape, [VOCAB, HIDDEN])
    assertClose(wasm.grad, cpu.grad, "wasm vs cpu table gradient")
    assertClose(wasm.grad, expectedTableGrad(), "wasm vs the hand sum")
  })

  test("dense equals denseReference on wasm too", () => {
    const ours = denseValueAndGrads(dense)
    const reference = denseValueAndGrads(denseReference)
    assertClose(ours.value, reference.value, "value")
    ours.grads.forEach((grad, i) => assertClose(grad.data, reference.grads[i]?.data ?? [], `grad ${i}`))
  })
})
