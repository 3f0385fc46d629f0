/**
 * The compiled N-API addon (native/carl_kernels.c), if `npm install` could build it on this
 * machine (native/build.mjs: a C compiler and OpenBLAS). Loading never throws: without the addon
 * carl says why and keeps to the wasm and cpu backends.
 */
import { existsSync } from "node:fs"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"

/** Buffers are the wasm heap (an ArrayBuffer) or a tensor's typed array; offsets count 4-byte elements. */
type Buffer = ArrayBuffer | Float32Array | Int32Array

export interface NativeKernels {
  /** C[i] = op(A[i]) · op(B[i]); see carl_kernels.c. */
  readonly matMul: (
    a: Buffer,
    aOffsets: Int32Array,
    b: Buffer,
    bOffsets: Int32Array,
    c: Buffer,
    cOffset: number,
    m: number,
    n: number,
    k: number,
    transposeA: boolean,
    transposeB: boolean
  ) => void
  readonly biasActivation: (
    c: Buffer,
    cOffset: number,
    rows: number,
    n: number,
    bias: Buffer,
    biasOffset: number,
    biasSize: number,
    activation: number,
    alpha: number,
    prelu: Buffer,
    preluOffset: number,
    preluSize: number
  ) => void
  /** y = op(x) elementwise, op 0 = exp, 1 = erf. */
  readonly unary: (op: number, x: Buffer, xOffset: number, y: Buffer, yOffset: number, size: number) => void
  /** out[o, i] = x[o, indices[i]] over [outer, dim, slice]; the first index out of range, or −1. */
  readonly gather: (
    x: Buffer,
    xOffset: number,
    outer: number,
    dim: number,
    slice: number,
    indices: Buffer,
    indicesOffset: number,
    count: number,
    out: Buffer,
    outOffset: number
  ) => number
  /**
   * The AdamW step in place on the weight and the moments (host Float32Arrays of `size`); the
   * constants are beta1, 1 − beta1, beta2, 1 − beta2, 1 − lr·wd, √(1 − β2ᵗ), epsilon, lr / (1 − β1ᵗ).
   */
  readonly adamw: (
    weight: Buffer,
    weightOffset: number,
    gradient: Buffer,
    gradientOffset: number,
    first: Float32Array,
    second: Float32Array,
    size: number,
    beta1: number,
    oneMinusBeta1: number,
    beta2: number,
    oneMinusBeta2: number,
    decay: number,
    secondCorrection: number,
    epsilon: number,
    stepSize: number
  ) => void
  /** target ← target·m + online·(1 − m), in place. */
  readonly movingAverage: (target: Buffer, targetOffset: number, online: Buffer, onlineOffset: number, size: number, momentum: number, oneMinusMomentum: number) => void
  /** a ← a + b, in place. */
  readonly addInto: (a: Buffer, aOffset: number, b: Buffer, bOffset: number, size: number) => void
  /**
   * A logistic probe's float64 products (native/carl_probe_math.c); absent from an addon built
   * before they were added.
   */
  readonly probeScores?: (x: Float64Array, n: number, d: number, weights: Float64Array, bias: Float64Array, classes: number, scores: Float64Array) => void
  readonly probeGradient?: (x: Float64Array, n: number, d: number, residuals: Float64Array, classes: number, gradient: Float64Array) => void
  /**
   * out[i₀, …, iᵣ] = x[xOffset + Σ i_d·strides[d]] over `shape`, 4-byte elements (a slice or a
   * transpose); absent from an addon built before it was added.
   */
  readonly stridedCopy?: (x: Buffer, xOffset: number, shape: Int32Array, strides: Int32Array, out: Buffer, outOffset: number) => void
  /** OpenBLAS's thread count; batched products (attention) share the batches among as many threads. */
  readonly setThreads: (threads: number) => void
  readonly blasInfo: () => { readonly core: string; readonly config: string; readonly threads: number }
}

export const ADDON_PATH = fileURLToPath(new URL("../../../native/build/carl_kernels.node", import.meta.url))

export type AddonLoad = { readonly ok: true; readonly kernels: NativeKernels } | { readonly ok: false; readonly reason: string }

let loaded: AddonLoad | undefined

export const loadNativeKernels = (): AddonLoad => {
  if (loaded !== undefined) return loaded
  if (!existsSync(ADDON_PATH)) {
    loaded = { ok: false, reason: "native kernels not built (npm install builds them where a C compiler and OpenBLAS are present)" }
    return loaded
  }
  try {
    loaded = { ok: true, kernels: createRequire(import.meta.url)(ADDON_PATH) as NativeKernels }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    loaded = { ok: false, reason: `native kernels did not load: ${message.split("\n")[0] ?? message}` }
  }
  return loaded
}
