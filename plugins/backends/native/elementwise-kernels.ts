/**
 * Kernels where tfjs-backend-wasm spends time on work that is not arithmetic: Identity copies its
 * input (the cpu backend shares it), GatherV2 walks every element through generic strides, and
 * Exp/Erf call scalar libm one float at a time. Here: a shared reference, row copies, and
 * glibc's vector math (native/carl_vector_math.c).
 */
import * as tf from "@tensorflow/tfjs"
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm"
import type { NativeKernels } from "./addon.ts"
import { memoryOf } from "./tensor-memory.ts"

/** The output shares the input's memory; tfjs's reference counts free it once both are gone. */
export const sharedIdentity = (fallback: tf.KernelFunc): tf.KernelFunc => (args) => {
  const { x } = args.inputs as tf.IdentityInputs
  if (x === undefined || x.dtype === "string") return fallback(args)
  const backend = args.backend as BackendWasm
  backend.incRef(x.dataId)
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype }
}

const UNARY_OPS = { exp: 0, erf: 1 } as const

export const nativeUnary = (kernels: NativeKernels, op: keyof typeof UNARY_OPS, fallback: tf.KernelFunc): tf.KernelFunc => (args) => {
  const { x } = args.inputs as tf.UnaryInputs
  if (x === undefined || x.dtype !== "float32") return fallback(args)
  const memory = memoryOf(args.backend)
  const out = memory.allocate(x.shape, "float32")
  const size = tf.util.sizeFromShape(x.shape)
  if (size > 0) kernels.unary(UNARY_OPS[op], memory.buffer(x), memory.offset(x), memory.buffer(out), memory.offset(out), size)
  return out
}

/** GatherV2 without batch dimensions, on 4-byte elements; anything else goes to wasm's kernel. */
export const nativeGather = (kernels: NativeKernels, fallback: tf.KernelFunc): tf.KernelFunc => (args) => {
  const { x, indices } = args.inputs as tf.GatherV2Inputs
  const { axis, batchDims } = args.attrs as unknown as tf.GatherV2Attrs
  if (x === undefined || indices === undefined || batchDims !== 0 || indices.dtype !== "int32" || (x.dtype !== "float32" && x.dtype !== "int32")) {
    return fallback(args)
  }
  const memory = memoryOf(args.backend)
  const parsedAxis = tf.util.parseAxisParam(axis, x.shape)[0] ?? 0
  const outer = tf.util.sizeFromShape(x.shape.slice(0, parsedAxis))
  const dim = x.shape[parsedAxis] ?? 0
  const slice = tf.util.sizeFromShape(x.shape.slice(parsedAxis + 1))
  const count = tf.util.sizeFromShape(indices.shape)
  const out = memory.allocate([...x.shape.slice(0, parsedAxis), ...indices.shape, ...x.shape.slice(parsedAxis + 1)], x.dtype)
  if (outer * count * slice === 0) return out
  const bad = kernels.gather(
    memory.buffer(x),
    memory.offset(x),
    outer,
    dim,
    slice,
    memory.buffer(indices),
    memory.offset(indices),
    count,
    memory.buffer(out),
    memory.offset(out)
  )
  if (bad >= 0) {
    memory.free(out)
    throw new Error(`GatherV2: the index value ${bad} is not in [0, ${dim - 1}]`)
  }
  return out
}
