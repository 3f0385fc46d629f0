/**
 * Where a tensor's floats live, for the two backends the native kernels extend: tfjs-backend-wasm
 * (one heap; offsets into it) and tfjs-backend-cpu (one typed array per tensor, offset 0). The
 * kernels read a buffer only after allocating their output: a wasm allocation may grow the heap
 * and replace its buffer.
 */
import type * as tf from "@tensorflow/tfjs"
import type { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu"
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm"

/** An ArrayBuffer (the wasm heap) or a tensor's own typed array. */
export type KernelBuffer = ArrayBuffer | Float32Array | Int32Array

export interface TensorMemory {
  /** A new, uninitialised float32 or int32 output of this shape. */
  readonly allocate: (shape: ReadonlyArray<number>, dtype: "float32" | "int32") => tf.TensorInfo
  readonly buffer: (tensor: tf.TensorInfo) => KernelBuffer
  /** In 4-byte elements from the start of `buffer(tensor)`. */
  readonly offset: (tensor: tf.TensorInfo) => number
  readonly free: (tensor: tf.TensorInfo) => void
  /** How many tensors share this tensor's memory (1: only itself). */
  readonly refCount: (tensor: tf.TensorInfo) => number
}

/** The part of the Emscripten module the kernels use. */
interface WasmHeap {
  readonly HEAPU8: Uint8Array
}

export const wasmMemory = (backend: BackendWasm): TensorMemory => ({
  allocate: (shape, dtype) => backend.makeOutput([...shape], dtype),
  buffer: () => (backend.wasm as unknown as WasmHeap).HEAPU8.buffer as ArrayBuffer,
  offset: (tensor) => backend.getMemoryOffset(tensor.dataId) / 4,
  free: (tensor) => void backend.disposeData(tensor.dataId),
  refCount: (tensor) => backend.refCount(tensor.dataId)
})

export const cpuMemory = (backend: MathBackendCPU): TensorMemory => ({
  allocate: (shape, dtype) => {
    const size = shape.reduce((p, d) => p * d, 1)
    return backend.makeTensorInfo([...shape], dtype, dtype === "int32" ? new Int32Array(size) : new Float32Array(size))
  },
  buffer: (tensor) => {
    const values = backend.data.get(tensor.dataId)?.values
    if (values instanceof Float32Array || values instanceof Int32Array) return values
    throw new Error(`native kernels: a ${tensor.dtype} tensor's values are not a Float32Array or Int32Array`)
  },
  offset: () => 0,
  free: (tensor) => void backend.disposeData(tensor.dataId),
  refCount: (tensor) => backend.refCount(tensor.dataId)
})

const views = new WeakMap<object, TensorMemory>()

/** The memory view of whichever backend a kernel runs on. */
export const memoryOf = (backend: object): TensorMemory => {
  let view = views.get(backend)
  if (view === undefined) {
    view = "wasm" in backend ? wasmMemory(backend as BackendWasm) : cpuMemory(backend as MathBackendCPU)
    views.set(backend, view)
  }
  return view
}
