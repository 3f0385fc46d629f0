/**
 * tfjs's BatchMatMul and _FusedMatMul for the native backends: sgemm on the machine's BLAS,
 * reading and writing the tensors' memory in place (tensor-memory.ts). Any transpose flags and any broadcast of
 * the batch dimensions go straight to sgemm (no transpose copies, unlike tfjs-wasm, whose matMul
 * leaves its fast XNNPACK path as soon as a flag is set or a batch appears).
 */
import * as tf from "@tensorflow/tfjs"
import type { NativeKernels } from "./addon.ts"
import { memoryOf, type TensorMemory } from "./tensor-memory.ts"

const ACTIVATION_CODES: Record<string, number> = { linear: 0, relu: 1, relu6: 2, elu: 3, leakyrelu: 4, sigmoid: 5, prelu: 6 }

/** Row-major strides of a batch shape, 0 where the dimension broadcasts. */
const broadcastStrides = (batchShape: ReadonlyArray<number>, outBatch: ReadonlyArray<number>): Array<number> => {
  const strides = new Array<number>(outBatch.length).fill(0)
  let stride = 1
  for (let i = batchShape.length - 1, o = outBatch.length - 1; i >= 0; i--, o--) {
    strides[o] = (batchShape[i] ?? 1) === 1 ? 0 : stride
    stride *= batchShape[i] ?? 1
  }
  return strides
}

/** For every output batch, the float offset of its A and B matrices. */
const batchOffsets = (
  aBatch: ReadonlyArray<number>,
  bBatch: ReadonlyArray<number>,
  aSize: number,
  bSize: number
): { readonly outBatch: Array<number>; readonly a: Int32Array; readonly b: Int32Array } => {
  const outBatch = tf.broadcast_util.assertAndGetBroadcastShape([...aBatch], [...bBatch])
  const count = outBatch.reduce((p, d) => p * d, 1)
  const aStrides = broadcastStrides(aBatch, outBatch)
  const bStrides = broadcastStrides(bBatch, outBatch)
  const a = new Int32Array(count)
  const b = new Int32Array(count)
  const index = new Array<number>(outBatch.length).fill(0)
  for (let i = 0; i < count; i++) {
    let aIndex = 0
    let bIndex = 0
    for (let d = 0; d < outBatch.length; d++) {
      aIndex += (index[d] ?? 0) * (aStrides[d] ?? 0)
      bIndex += (index[d] ?? 0) * (bStrides[d] ?? 0)
    }
    a[i] = aIndex * aSize
    b[i] = bIndex * bSize
    for (let d = outBatch.length - 1; d >= 0; d--) {
      index[d] = (index[d] ?? 0) + 1
      if ((index[d] ?? 0) < (outBatch[d] ?? 1)) break
      index[d] = 0
    }
  }
  return { outBatch, a, b }
}

const matMulInto = (
  kernels: NativeKernels,
  memory: TensorMemory,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean
): { readonly out: tf.TensorInfo; readonly rows: number; readonly n: number } => {
  if (a.dtype !== "float32" || b.dtype !== "float32") {
    throw new Error(`native matMul supports float32 only, got ${a.dtype} and ${b.dtype}`)
  }
  const aRank = a.shape.length
  const bRank = b.shape.length
  const m = transposeA ? (a.shape[aRank - 1] ?? 0) : (a.shape[aRank - 2] ?? 0)
  const k = transposeA ? (a.shape[aRank - 2] ?? 0) : (a.shape[aRank - 1] ?? 0)
  const kB = transposeB ? (b.shape[bRank - 1] ?? 0) : (b.shape[bRank - 2] ?? 0)
  const n = transposeB ? (b.shape[bRank - 2] ?? 0) : (b.shape[bRank - 1] ?? 0)
  if (k !== kB) {
    throw new Error(`matMul: inner dimensions differ: ${a.shape} and ${b.shape} (transposeA=${transposeA}, transposeB=${transposeB})`)
  }
  const offsets = batchOffsets(a.shape.slice(0, -2), b.shape.slice(0, -2), m * k, k * n)
  const out = memory.allocate([...offsets.outBatch, m, n], "float32")
  const size = offsets.a.length * m * n
  if (size > 0) {
    const aBase = memory.offset(a)
    const bBase = memory.offset(b)
    if (aBase !== 0) for (let i = 0; i < offsets.a.length; i++) offsets.a[i] = (offsets.a[i] ?? 0) + aBase
    if (bBase !== 0) for (let i = 0; i < offsets.b.length; i++) offsets.b[i] = (offsets.b[i] ?? 0) + bBase
    kernels.matMul(memory.buffer(a), offsets.a, memory.buffer(b), offsets.b, memory.buffer(out), memory.offset(out), m, n, k, transposeA, transposeB)
  }
  return { out, rows: offsets.a.length * m, n }
}

export const nativeBatchMatMul = (kernels: NativeKernels): tf.KernelFunc => ({ inputs, backend, attrs }) => {
  const { a, b } = inputs as tf.BatchMatMulInputs
  if (a === undefined || b === undefined) throw new Error("BatchMatMul needs inputs a and b")
  const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs
  return matMulInto(kernels, memoryOf(backend), a, b, transposeA, transposeB).out
}

export const nativeFusedMatMul = (kernels: NativeKernels): tf.KernelFunc => ({ inputs, backend, attrs }) => {
  const { a, b, bias, preluActivationWeights } = inputs as tf._FusedMatMulInputs
  if (a === undefined || b === undefined) throw new Error("_FusedMatMul needs inputs a and b")
  const { transposeA, transposeB, activation, leakyreluAlpha } = attrs as unknown as tf._FusedMatMulAttrs
  const memory = memoryOf(backend)
  const code = ACTIVATION_CODES[activation ?? "linear"]
  if (code === undefined) throw new Error(`native _FusedMatMul: unknown activation ${activation}`)
  const { out, rows, n } = matMulInto(kernels, memory, a, b, transposeA, transposeB)
  const size = rows * n
  const biasSize = bias === undefined ? 0 : tf.util.sizeFromShape(bias.shape)
  const preluSize = preluActivationWeights === undefined ? 0 : tf.util.sizeFromShape(preluActivationWeights.shape)
  const fits = (s: number) => s === 1 || s === n || s === size
  if ((bias !== undefined && !fits(biasSize)) || (preluActivationWeights !== undefined && !fits(preluSize))) {
    memory.free(out)
    throw new Error(`native _FusedMatMul: bias/prelu weights must broadcast along the last axis, got ${bias?.shape} for ${out.shape}`)
  }
  if (size > 0 && (bias !== undefined || code !== 0)) {
    const outBuffer = memory.buffer(out)
    kernels.biasActivation(
      outBuffer,
      memory.offset(out),
      rows,
      n,
      bias === undefined ? outBuffer : memory.buffer(bias),
      bias === undefined ? -1 : memory.offset(bias),
      biasSize,
      code,
      leakyreluAlpha ?? 0.2,
      preluActivationWeights === undefined ? outBuffer : memory.buffer(preluActivationWeights),
      preluActivationWeights === undefined ? -1 : memory.offset(preluActivationWeights),
      preluSize
    )
  }
  return out
}
