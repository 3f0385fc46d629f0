/**
 * Kernels that only move floats: Slice, SplitV and Transpose as one strided copy each in C
 * (carl_kernels.c, stridedCopy). tfjs-backend-wasm's Slice first copies its whole input out of the
 * heap (readSync) and then the slice row by row in JavaScript, and SplitV does that once per
 * output (USE-lite splits its fused QKV product in every layer); its Transpose walks every element
 * through generic strides. A copy rounds nothing, so results stay bit for bit.
 */
import * as tf from "@tensorflow/tfjs"
import type { NativeKernels } from "./addon.ts"
import { memoryOf, type TensorMemory } from "./tensor-memory.ts"

export type StridedCopy = NonNullable<NativeKernels["stridedCopy"]>

/** Row-major strides of `shape`, the last one 1. */
const stridesOf = (shape: ReadonlyArray<number>): Array<number> => [...tf.util.computeStrides([...shape]), 1]

const copies = (dtype: tf.DataType): dtype is "float32" | "int32" => dtype === "float32" || dtype === "int32"

/** out = x[begin : begin + size] along every axis. */
const sliceInto = (copy: StridedCopy, memory: TensorMemory, x: tf.TensorInfo, begin: ReadonlyArray<number>, size: ReadonlyArray<number>): tf.TensorInfo => {
  const out = memory.allocate(size, x.dtype as "float32" | "int32")
  if (tf.util.sizeFromShape([...size]) === 0) return out
  const strides = stridesOf(x.shape)
  const start = begin.reduce((offset, b, axis) => offset + b * (strides[axis] ?? 0), 0)
  copy(memory.buffer(x), memory.offset(x) + start, Int32Array.from(size), Int32Array.from(strides), memory.buffer(out), memory.offset(out))
  return out
}

export const nativeSlice = (copy: StridedCopy, fallback: tf.KernelFunc): tf.KernelFunc => (args) => {
  const { x } = args.inputs as tf.SliceInputs
  if (x === undefined || !copies(x.dtype) || x.shape.length === 0) return fallback(args)
  const { begin, size } = args.attrs as unknown as tf.SliceAttrs
  const [parsedBegin = [], parsedSize = []] = tf.slice_util.parseSliceParams(x, begin, size)
  // On wasm every tensor is in one heap: a slice outside its input would read its neighbours.
  tf.slice_util.assertParamsValid(x, parsedBegin, parsedSize)
  return sliceInto(copy, memoryOf(args.backend), x, parsedBegin, parsedSize)
}

export const nativeSplitV = (copy: StridedCopy, fallback: tf.KernelFunc): tf.KernelFunc => (args) => {
  const { x } = args.inputs as tf.SplitVInputs
  if (x === undefined || !copies(x.dtype) || x.shape.length === 0) return fallback(args)
  const { numOrSizeSplits, axis } = args.attrs as unknown as tf.SplitVAttrs
  const parsedAxis = tf.util.parseAxisParam(axis, x.shape)[0] ?? 0
  const sizes = tf.backend_util.prepareSplitSize(x, numOrSizeSplits, parsedAxis)
  const memory = memoryOf(args.backend)
  const begin = new Array<number>(x.shape.length).fill(0)
  return sizes.map((part) => {
    const size = [...x.shape]
    size[parsedAxis] = part
    const out = sliceInto(copy, memory, x, begin, size)
    begin[parsedAxis] = (begin[parsedAxis] ?? 0) + part
    return out
  })
}

export const nativeTranspose = (copy: StridedCopy, fallback: tf.KernelFunc): tf.KernelFunc => (args) => {
  const { x } = args.inputs as tf.TransposeInputs
  if (x === undefined || !copies(x.dtype) || x.shape.length === 0) return fallback(args)
  const { perm } = args.attrs as unknown as tf.TransposeAttrs
  const memory = memoryOf(args.backend)
  const shape = perm.map((axis) => x.shape[axis] ?? 1)
  const out = memory.allocate(shape, x.dtype as "float32" | "int32")
  if (tf.util.sizeFromShape(shape) === 0) return out
  const inputStrides = stridesOf(x.shape)
  const strides = Int32Array.from(perm.map((axis) => inputStrides[axis] ?? 0))
  copy(memory.buffer(x), memory.offset(x), Int32Array.from(shape), strides, memory.buffer(out), memory.offset(out))
  return out
}
