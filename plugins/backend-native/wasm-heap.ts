/** Where a tensor of tfjs-backend-wasm lives: the module's heap, and float offsets into it. */
import type * as tf from "@tensorflow/tfjs"
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm"

/** The part of the Emscripten module the kernels use: the heap, whose buffer changes when it grows. */
interface WasmHeap {
  readonly HEAPU8: Uint8Array
}

/** Read it after allocating outputs: an allocation may grow the heap and replace its buffer. */
export const heapOf = (backend: BackendWasm): ArrayBuffer => (backend.wasm as unknown as WasmHeap).HEAPU8.buffer as ArrayBuffer

export const floatOffset = (backend: BackendWasm, tensor: tf.TensorInfo): number => backend.getMemoryOffset(tensor.dataId) / 4
