/**
 * The "native" backend (plugins/backends/native) against float64 references and against the wasm
 * backend it extends: matrix products under every transpose and batch broadcast, the fused
 * epilogue, batched products on any thread count, gather, slices, splits and transposes, exp/erf
 * (including NaN and ±inf), shared identities, and a whole CARL
 * training pass. Where the addon is not built the tests are skipped with the reason, unless
 * CARL_REQUIRE_NATIVE=1 (set by .ci/run, which installs OpenBLAS) makes that a failure.
 */
import assert from "node:assert/strict"
import { after, before, describe, test } from "node:test"
import * as tf from "@tensorflow/tfjs"
import { availableParallelism } from "node:os"
import { Effect } from "effect"
import { selectBackend } from "../plugins/backends/index.ts"
import "./support/backends.ts"
import { runTrainingPass } from "../core/executor.ts"
import { SeededRandom } from "../core/random.ts"
import { ADDON_PATH, loadNativeKernels } from "../plugins/backends/native/addon.ts"
import { NATIVE_BACKEND, NATIVE_CPU_BACKEND, registerNativeBackend, type NativeBackendName } from "../plugins/backends/native/register.ts"
import { carlGraph, disposeCarlModel } from "../pipelines/carl-graph.ts"
import { tinyCarl } from "./support/tiny-carl.ts"
import { javascriptProducts, nativeProducts, type DesignProducts } from "../plugins/evaluators/math/design-products.ts"
import { fitLogisticPath } from "../plugins/evaluators/math/logistic-regression.ts"

const addon = loadNativeKernels()
const required = process.env.CARL_REQUIRE_NATIVE === "1"
const skip = addon.ok || required ? false : addon.reason

const useBackend = async (name: string): Promise<void> => {
  await tf.setBackend(name)
  await tf.ready()
  assert.equal(tf.getBackend(), name)
}

/** Row-major float64 reference of op(A)·op(B) with numpy-style batch broadcasting. */
const referenceMatMul = (
  a: Float32Array,
  aShape: ReadonlyArray<number>,
  b: Float32Array,
  bShape: ReadonlyArray<number>,
  transposeA: boolean,
  transposeB: boolean
): { readonly values: Float64Array; readonly shape: Array<number> } => {
  const ar = aShape.length
  const br = bShape.length
  const [aRows = 0, aCols = 0] = aShape.slice(-2)
  const [bRows = 0, bCols = 0] = bShape.slice(-2)
  const m = transposeA ? aCols : aRows
  const k = transposeA ? aRows : aCols
  const n = transposeB ? bRows : bCols
  const aBatch = aShape.slice(0, ar - 2)
  const bBatch = bShape.slice(0, br - 2)
  const rank = Math.max(aBatch.length, bBatch.length)
  const pad = (shape: ReadonlyArray<number>) => [...new Array<number>(rank - shape.length).fill(1), ...shape]
  const aPadded = pad(aBatch)
  const bPadded = pad(bBatch)
  const outBatch = aPadded.map((d, i) => Math.max(d, bPadded[i] ?? 1))
  const count = outBatch.reduce((p, d) => p * d, 1)
  const values = new Float64Array(count * m * n)
  for (let batch = 0; batch < count; batch++) {
    let rest = batch
    let aIndex = 0
    let bIndex = 0
    let aStride = 1
    let bStride = 1
    for (let d = rank - 1; d >= 0; d--) {
      const size = outBatch[d] ?? 1
      const index = rest % size
      rest = Math.floor(rest / size)
      aIndex += ((aPadded[d] ?? 1) === 1 ? 0 : index) * aStride
      bIndex += ((bPadded[d] ?? 1) === 1 ? 0 : index) * bStride
      aStride *= aPadded[d] ?? 1
      bStride *= bPadded[d] ?? 1
    }
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0
        for (let t = 0; t < k; t++) {
          const av = a[aIndex * aRows * aCols + (transposeA ? t * aCols + i : i * aCols + t)] ?? Number.NaN
          const bv = b[bIndex * bRows * bCols + (transposeB ? j * bCols + t : t * bCols + j)] ?? Number.NaN
          sum += av * bv
        }
        values[(batch * m + i) * n + j] = sum
      }
    }
  }
  return { values, shape: [...outBatch, m, n] }
}

const assertClose = (actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, label: string): void => {
  assert.equal(actual.length, expected.length, `${label}: length`)
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] ?? Number.NaN
    const e = expected[i] ?? Number.NaN
    assert.ok(Math.abs(a - e) <= tolerance * Math.max(1, Math.abs(e)), `${label}[${i}]: ${a} vs ${e}`)
  }
}

/** Shapes that cover plain, transposed, batched, broadcast ([2,1]×[1,3]) and rank-mixed products. */
const MATMUL_CASES: ReadonlyArray<{ readonly a: Array<number>; readonly b: Array<number>; readonly tA: boolean; readonly tB: boolean }> = [
  { a: [7, 5], b: [5, 3], tA: false, tB: false },
  { a: [5, 7], b: [5, 3], tA: true, tB: false },
  { a: [7, 5], b: [3, 5], tA: false, tB: true },
  { a: [5, 7], b: [3, 5], tA: true, tB: true },
  { a: [4, 6, 8], b: [4, 8, 2], tA: false, tB: false },
  { a: [2, 1, 3, 4], b: [1, 3, 4, 5], tA: false, tB: false },
  { a: [2, 1, 4, 3], b: [1, 3, 5, 4], tA: true, tB: true },
  { a: [3, 6, 4], b: [4, 2], tA: false, tB: false },
  { a: [6, 4], b: [3, 2, 4], tA: false, tB: true },
  { a: [1, 64, 33], b: [1, 33, 65], tA: false, tB: false },
  { a: [0, 3], b: [3, 2], tA: false, tB: false },
  { a: [4, 0], b: [0, 2], tA: false, tB: false }
]

const NATIVE_BACKENDS: ReadonlyArray<readonly [NativeBackendName, "wasm" | "cpu"]> = [
  [NATIVE_BACKEND, "wasm"],
  [NATIVE_CPU_BACKEND, "cpu"]
]

for (const [NATIVE, BASE] of NATIVE_BACKENDS) describe(`${NATIVE} backend (on ${BASE})`, { skip }, () => {
  before(async () => {
    const registered = await registerNativeBackend(2, NATIVE)
    assert.ok(registered.ok, registered.ok ? "" : registered.reason)
    await useBackend(NATIVE)
  })
  after(async () => {
    await useBackend("cpu")
  })

  test("BatchMatMul equals a float64 reference under transposes and batch broadcasting", () => {
    const random = new SeededRandom(11)
    for (const { a, b, tA, tB } of MATMUL_CASES) {
      const aValues = new Float32Array(random.normalArray(tf.util.sizeFromShape(a), 1))
      const bValues = new Float32Array(random.normalArray(tf.util.sizeFromShape(b), 1))
      const expected = referenceMatMul(aValues, a, bValues, b, tA, tB)
      const result = tf.tidy(() => tf.matMul(tf.tensor(aValues, a), tf.tensor(bValues, b), tA, tB))
      assert.deepEqual(result.shape, expected.shape, `shape of ${a}×${b}`)
      // float32 sums of k products: a few ulps per term, relative to the result's scale.
      assertClose(result.dataSync(), expected.values, 1e-5, `${a}${tA ? "ᵀ" : ""}×${b}${tB ? "ᵀ" : ""}`)
      result.dispose()
    }
  })

  test("matMul rejects mismatched inner dimensions with tfjs's message", () => {
    assert.throws(() => tf.tidy(() => tf.matMul(tf.ones([2, 3]), tf.ones([4, 2]))), /inner/)
  })

  test("_FusedMatMul: bias of size 1, n and rows·n, then each activation, equal a float64 reference", () => {
    const random = new SeededRandom(12)
    const [m, k, n] = [6, 5, 4]
    const aValues = new Float32Array(random.normalArray(m * k, 1))
    const bValues = new Float32Array(random.normalArray(k * n, 1))
    const product = referenceMatMul(aValues, [m, k], bValues, [k, n], false, false).values
    const activations: ReadonlyArray<[tf.fused.Activation, (x: number, slope: number) => number]> = [
      ["linear", (x) => x],
      ["relu", (x) => Math.max(0, x)],
      ["relu6", (x) => Math.min(6, Math.max(0, x))],
      ["elu", (x) => (x >= 0 ? x : Math.expm1(x))],
      ["leakyrelu", (x) => (x >= 0 ? x : 0.3 * x)],
      ["sigmoid", (x) => 1 / (1 + Math.exp(-x))],
      ["prelu", (x, slope) => (x >= 0 ? x : slope * x)]
    ]
    for (const biasShape of [[1], [n], [m, n]]) {
      const biasValues = new Float32Array(random.normalArray(tf.util.sizeFromShape(biasShape), 1))
      const slopes = new Float32Array(random.normalArray(n, 0.5))
      for (const [activation, f] of activations) {
        const result = tf.tidy(() =>
          tf.fused.matMul({
            a: tf.tensor(aValues, [m, k]),
            b: tf.tensor(bValues, [k, n]),
            bias: tf.tensor(biasValues, biasShape),
            activation,
            leakyreluAlpha: 0.3,
            ...(activation === "prelu" ? { preluActivationWeights: tf.tensor(slopes, [n]) } : {})
          })
        )
        const expected = Array.from(product, (v, i) => {
          const biased = v + (biasValues.length === 1 ? (biasValues[0] ?? 0) : biasValues.length === n ? (biasValues[i % n] ?? 0) : (biasValues[i] ?? 0))
          return f(biased, slopes[i % n] ?? 0)
        })
        assertClose(result.dataSync(), expected, 2e-6, `${activation}, bias ${biasShape}`)
        result.dispose()
      }
    }
  })

  test("matMul's gradients equal the base backend's", async () => {
    const random = new SeededRandom(13)
    const aValues = random.normalArray(2 * 3 * 4, 1)
    const bValues = random.normalArray(2 * 5 * 4, 1)
    const gradients = () =>
      tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.matMul(a, b, false, true))))([
        tf.tensor(aValues, [2, 3, 4]),
        tf.tensor(bValues, [2, 5, 4])
      ]).map((g) => Array.from(g.dataSync()))
    const native = tf.tidy(gradients)
    await useBackend(BASE)
    const reference = tf.tidy(gradients)
    await useBackend(NATIVE)
    assertClose(native[0] ?? [], reference[0] ?? [], 1e-5, "∂a")
    assertClose(native[1] ?? [], reference[1] ?? [], 1e-5, "∂b")
  })

  test("GatherV2 on any axis copies the rows and rejects an index out of range", () => {
    const x = tf.tensor(Array.from({ length: 2 * 4 * 3 }, (_, i) => i), [2, 4, 3])
    const rows = tf.tidy(() => tf.gather(x, tf.tensor1d([3, 0, 3], "int32"), 1))
    assert.deepEqual(rows.shape, [2, 3, 3])
    assert.deepEqual(rows.arraySync(), [
      [[9, 10, 11], [0, 1, 2], [9, 10, 11]],
      [[21, 22, 23], [12, 13, 14], [21, 22, 23]]
    ])
    const table = tf.tidy(() => tf.gather(x, tf.tensor2d([[1], [0]], [2, 1], "int32")))
    assert.deepEqual(table.shape, [2, 1, 4, 3])
    assert.deepEqual((table.arraySync() as Array<Array<unknown>>)[0], [(x.arraySync() as Array<unknown>)[1]])
    const integers = tf.tidy(() => tf.gather(tf.tensor1d([5, 6, 7], "int32"), tf.tensor1d([2, 2, 0], "int32")))
    assert.deepEqual(integers.arraySync(), [7, 7, 5])
    const before = tf.memory().numTensors
    assert.throws(() => tf.tidy(() => tf.gather(x, tf.tensor1d([4], "int32"), 1)), /index value 4 is not in \[0, 3\]/)
    assert.equal(tf.memory().numTensors, before)
    tf.dispose([x, rows, table, integers])
  })

  test("Slice, SplitV and Transpose copy exactly what the base backend's kernels copy", async () => {
    // The same inputs on both backends: each computation starts the generator afresh.
    let random = new SeededRandom(5)
    const floats = (shape: Array<number>) => tf.tensor(random.normalArray(tf.util.sizeFromShape(shape), 1), shape)
    const integers = (shape: Array<number>) => tf.tensor(Array.from({ length: tf.util.sizeFromShape(shape) }, (_, i) => i * 7 - 3), shape, "int32")
    const cases: ReadonlyArray<readonly [string, () => tf.Tensor | Array<tf.Tensor>]> = [
      ["slice rank 1", () => tf.slice(floats([9]), 2, 5)],
      ["slice rank 3, inner part", () => tf.slice(floats([3, 5, 7]), [1, 0, 2], [2, -1, 3])],
      ["slice rank 4, contiguous rows", () => tf.slice(integers([4, 3, 2, 5]), [1, 0, 0, 0], [2, 3, 2, 5])],
      ["slice to nothing", () => tf.slice(floats([3, 4]), [1, 2], [0, 2])],
      ["split of a fused QKV product", () => tf.split(floats([2, 6, 12]), 3, 2)],
      ["split, uneven sizes, middle axis", () => tf.split(integers([3, 7, 2]), [1, 4, 2], 1)],
      ["transpose of heads", () => tf.transpose(floats([2, 6, 4, 3]), [0, 2, 1, 3])],
      ["transpose of keys", () => tf.transpose(floats([2, 6, 4, 3]), [0, 2, 3, 1])],
      ["transpose of a matrix", () => tf.transpose(integers([5, 8]))],
      ["transpose of rank 5", () => tf.transpose(floats([2, 3, 1, 4, 2]), [4, 0, 3, 2, 1])]
    ]
    const values = (result: tf.Tensor | Array<tf.Tensor>) => (Array.isArray(result) ? result : [result]).map((t) => ({ shape: t.shape, dtype: t.dtype, data: [...t.dataSync()] }))
    const compute = async (backend: string) => {
      await useBackend(backend)
      random = new SeededRandom(5)
      const out = cases.map(([, make]) => {
        const result = tf.tidy(make)
        const read = values(result)
        tf.dispose(result)
        return read
      })
      return out
    }
    const before = tf.memory().numTensors
    const native = await compute(NATIVE)
    assert.equal(tf.memory().numTensors, before, "no tensor left behind")
    const reference = await compute(BASE)
    await useBackend(NATIVE)
    cases.forEach(([name], i) => assert.deepEqual(native[i], reference[i], name))
    assert.throws(() => tf.tidy(() => tf.slice(tf.ones([3, 4]), [2, 0], [2, 4])), /slice|size/i)
  })

  test("batched products are the same bits on one thread or several", () => {
    const random = new SeededRandom(9)
    const shapes: ReadonlyArray<readonly [Array<number>, Array<number>, boolean, boolean]> = [
      [[16, 30, 64], [16, 64, 30], false, false],
      [[2, 4, 60, 128], [2, 4, 60, 128], false, true],
      [[3, 1, 17, 9], [1, 5, 17, 11], true, false],
      [[7, 33, 65], [65, 40], false, false]
    ]
    for (const [a, b, tA, tB] of shapes) {
      const left = tf.tensor(random.normalArray(tf.util.sizeFromShape(a), 1), a)
      const right = tf.tensor(random.normalArray(tf.util.sizeFromShape(b), 1), b)
      const product = (threads: number) => {
        if (addon.ok) addon.kernels.setThreads(threads)
        return tf.tidy(() => tf.matMul(left, right, tA, tB)).dataSync()
      }
      const one = product(1)
      assert.deepEqual(product(2), one, `${a}×${b} on 2 threads`)
      assert.deepEqual(product(3), one, `${a}×${b} on 3 threads`)
      tf.dispose([left, right])
    }
    if (addon.ok) addon.kernels.setThreads(2)
  })

  test("Exp and Erf match float64 within float32 rounding and pass NaN and ±inf through", () => {
    const random = new SeededRandom(14)
    const xs = [...random.normalArray(997, 3), 0, -0, 1e-30, 80, -100, 88.7, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]
    const exp = tf.tidy(() => tf.exp(tf.tensor1d(xs)).dataSync())
    const erf = tf.tidy(() => tf.erf(tf.tensor1d(xs)).dataSync())
    const erf64 = (x: number): number => {
      // Abramowitz–Stegun 7.1.26 is too coarse; a Maclaurin series for |x| < 3, 1 − erfc(x)
      // asymptotics beyond, both far below float32's resolution.
      if (Number.isNaN(x)) return Number.NaN
      if (Math.abs(x) >= 6) return Math.sign(x)
      let term = x
      let sum = x
      for (let n = 1; n < 200; n++) {
        term *= (-x * x) / n
        sum += term / (2 * n + 1)
      }
      return (2 / Math.sqrt(Math.PI)) * sum
    }
    xs.forEach((x, i) => {
      const e = Math.fround(x)
      if (Number.isNaN(x)) {
        assert.ok(Number.isNaN(exp[i] ?? 0) && Number.isNaN(erf[i] ?? 0), "NaN in, NaN out")
        return
      }
      const expected = Math.exp(e)
      if (!Number.isFinite(Math.fround(expected))) assert.equal(exp[i], Number.POSITIVE_INFINITY, `exp(${x})`)
      else assert.ok(Math.abs((exp[i] ?? 0) - expected) <= 4e-7 * expected + 1e-38, `exp(${x}): ${exp[i]} vs ${expected}`)
      if (Math.abs(e) < 5) assert.ok(Math.abs((erf[i] ?? 0) - erf64(e)) <= 1e-6, `erf(${x}): ${erf[i]} vs ${erf64(e)}`)
      else assert.equal(erf[i], Math.sign(e), `erf(${x})`)
    })
  })

  test("Identity shares its input's memory and frees it once both tensors are gone", () => {
    const backend = tf.backend()
    const dataBefore = backend.numDataIds()
    const x = tf.tensor1d([1, 2, 3])
    const y = tf.clone(x)
    assert.equal(backend.numDataIds(), dataBefore + 1)
    x.dispose()
    assert.deepEqual(Array.from(y.dataSync()), [1, 2, 3])
    y.dispose()
    assert.equal(backend.numDataIds(), dataBefore)
  })

  test("a whole CARL training pass gives the reference kernels' gradients, and leaves no tensor behind", async () => {
    const gradientsOn = async (backend: string): Promise<Array<Array<number>>> => {
      await useBackend(backend)
      const { model, config, inputs } = tinyCarl({ pgd: { epsilon: 1e-2 } })
      const start = tf.memory().numTensors
      const pass = runTrainingPass(carlGraph(model, config), inputs, { step: 0, totalSteps: 10 }, () => {})
      const gradients = [...pass.gradients.values()].map((g) => Array.from(g.dataSync()))
      pass.dispose()
      assert.equal(tf.memory().numTensors, start, `${backend}: tensors left by the pass`)
      tf.dispose(Object.values(inputs))
      disposeCarlModel(model)
      return gradients
    }
    const native = await gradientsOn(NATIVE)
    const wasm = await gradientsOn("wasm")
    const cpu = await gradientsOn("cpu")
    await useBackend(NATIVE)
    assert.equal(native.length, wasm.length)
    const worst = (x: ReadonlyArray<number>, y: ReadonlyArray<number>) => Math.max(...x.map((v, j) => Math.abs(v - (y[j] ?? Number.NaN))))
    // A CARL pass amplifies rounding (saliency norms, PGD's sign, softmaxes), so the two reference
    // backends differ too: native must stay within a few times their own disagreement.
    native.forEach((g, i) => {
      const reference = wasm[i] ?? []
      const scale = Math.max(...reference.map(Math.abs), 1e-12)
      const allowed = Math.max(4 * worst(cpu[i] ?? [], reference), 1e-5 * scale)
      const actual = worst(g, reference)
      assert.ok(actual <= allowed, `gradient ${i}: max |native − wasm| ${actual}, allowed ${allowed} (max |wasm| ${scale})`)
    })
  })
})

test("without a compiler (or OpenBLAS) the install step says why and still succeeds", async () => {
  const { execFileSync } = await import("node:child_process")
  const { existsSync, statSync } = await import("node:fs")
  // The addon as it was (or its absence): loadNativeKernels() caches, so only the file can tell.
  const fileState = () => (existsSync(ADDON_PATH) ? `${statSync(ADDON_PATH).size}:${statSync(ADDON_PATH).mtimeMs}` : "absent")
  const before = fileState()
  const output = execFileSync(process.execPath, ["native/build.mjs"], {
    env: { ...process.env, CC: "/nonexistent/cc", CARL_NATIVE: "" },
    encoding: "utf8"
  })
  assert.match(output, /^carl native kernels: not built \(\/nonexistent\/cc: .*\); carl will use the wasm backend/m)
  assert.equal(fileState(), before, "a failed build leaves an existing addon (or its absence) alone")
})

describe("the linear probes' float64 products (native/carl_probe_math.c)", { skip }, () => {
  const bits = (values: Float64Array): string => Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString("hex")
  const bothProducts = (): Array<DesignProducts> => (nativeProducts === undefined ? [] : [nativeProducts, javascriptProducts])

  test("scores and gradient are the JavaScript loops' bits, over whole and partial blocks of eight rows", () => {
    assert.ok(nativeProducts !== undefined, "the addon has probeScores and probeGradient")
    const random = new SeededRandom(3)
    for (const [n, d, classes] of [[8, 5, 1], [21, 33, 6], [1, 1, 2], [0, 4, 3]] as const) {
      const x = Float64Array.from({ length: n * d }, () => random.normal(0, 3))
      const weights = Float64Array.from({ length: classes * d }, () => random.normal())
      const bias = Float64Array.from({ length: classes }, () => random.normal())
      const residuals = Float64Array.from({ length: n * classes }, () => random.normal())
      const results = bothProducts().map((products) => {
        const scores = new Float64Array(n * classes).fill(Number.NaN)
        const gradient = new Float64Array(classes * d).fill(Number.NaN)
        products.scores(x, n, d, weights, bias, classes, scores)
        products.gradient(x, n, d, residuals, classes, gradient)
        return { scores: bits(scores), gradient: bits(gradient) }
      })
      assert.deepEqual(results[0], results[1], `n ${n}, d ${d}, ${classes} classes`)
    }
  })

  test("a probe fitted with them is the JavaScript fit to the bit: weights, iterations, objective", () => {
    assert.ok(nativeProducts !== undefined)
    const random = new SeededRandom(4)
    for (const classes of [2, 5]) {
      const rows = Array.from({ length: 300 }, () => Float32Array.from({ length: 12 }, () => random.normal()))
      const labels = rows.map((row) => Math.min(classes - 1, Math.max(0, Math.floor((row[0] ?? 0) + (row[1] ?? 0) / 2 + classes / 2 + random.normal(0, 0.5)))))
      const fits = bothProducts().map((products) =>
        fitLogisticPath(rows, labels, classes, [1e-3, 1e-1, 10], { products }).map((model) => ({
          weights: bits(model.weights),
          bias: bits(model.bias),
          iterations: model.iterations,
          objective: model.objective
        }))
      )
      assert.deepEqual(fits[0], fits[1], `${classes} classes`)
    }
  })

  test("they refuse an array that is not Float64Array or too short, naming the argument", () => {
    const kernels = addon.ok ? addon.kernels : undefined
    assert.ok(kernels?.probeScores !== undefined)
    assert.throws(() => kernels.probeScores?.(new Float64Array(5), 2, 3, new Float64Array(3), new Float64Array(1), 1, new Float64Array(2)), /probeScores: x must be a Float64Array of n·d/)
    assert.throws(() => kernels.probeGradient?.(new Float64Array(6), 2, 3, new Float64Array(2), 1, new Float32Array(3) as unknown as Float64Array), /probeGradient: gradient must be a Float64Array/)
  })
})

describe("the native kernels' thread count", { skip }, () => {
  after(() => {
    delete process.env.OPENBLAS_NUM_THREADS
  })

  test("OPENBLAS_NUM_THREADS is honoured and reported, and one thread per core without it", async () => {
    const blasThreads = () => (addon.ok ? addon.kernels.blasInfo().threads : Number.NaN)
    process.env.OPENBLAS_NUM_THREADS = "1"
    const fromEnvironment = await Effect.runPromise(selectBackend("native"))
    assert.equal(fromEnvironment.threads, 1)
    assert.equal(blasThreads(), 1)
    process.env.OPENBLAS_NUM_THREADS = "none"
    const byDefault = await Effect.runPromise(selectBackend("native"))
    assert.equal(byDefault.threads, availableParallelism())
    assert.equal(blasThreads(), availableParallelism())
  })
})
