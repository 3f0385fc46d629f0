/**
 * core/backend-extras.ts for the native backends, on the addon's in-place kernels
 * (native/carl_updates.c). Writing into a tensor's memory is only safe when nothing else shares
 * it: tfjs shares memory between a tensor and its clones (Identity), so a weight whose memory is
 * shared is first given its own copy, and an accumulator whose memory is shared is left to tfjs.
 */
import * as tf from "@tensorflow/tfjs"
import type { FusedUpdates } from "../../../core/backend-extras.ts"
import type { NativeKernels } from "./addon.ts"
import { memoryOf } from "./tensor-memory.ts"

const f32 = Math.fround

/** Gives the variable memory of its own if it shares it (a clone of it is alive). */
const ownMemory = (variable: tf.Variable): void => {
  const memory = memoryOf(tf.backend())
  if (memory.refCount(variable) > 1) tf.tidy(() => variable.assign(tf.mul(variable, 1)))
}

const floatTensor = (tensor: tf.Tensor, what: string): void => {
  if (tensor.dtype !== "float32") throw new Error(`native ${what}: float32 only, got ${tensor.dtype}`)
}

export const nativeFusedUpdates = (kernels: NativeKernels): FusedUpdates => ({
  adamw: (weight, gradient, first, second, step) => {
    floatTensor(weight, "adamw")
    floatTensor(gradient, "adamw")
    ownMemory(weight)
    const memory = memoryOf(tf.backend())
    kernels.adamw(
      memory.buffer(weight),
      memory.offset(weight),
      memory.buffer(gradient),
      memory.offset(gradient),
      first,
      second,
      weight.size,
      f32(step.beta1),
      f32(1 - step.beta1),
      f32(step.beta2),
      f32(1 - step.beta2),
      f32(step.decay),
      f32(step.secondCorrection),
      f32(step.epsilon),
      f32(step.stepSize)
    )
  },
  movingAverage: (target, online, momentum) => {
    floatTensor(target, "movingAverage")
    ownMemory(target)
    const memory = memoryOf(tf.backend())
    kernels.movingAverage(memory.buffer(target), memory.offset(target), memory.buffer(online), memory.offset(online), target.size, f32(momentum), f32(1 - momentum))
  },
  addInto: (accumulator, addend) => {
    const memory = memoryOf(tf.backend())
    if (accumulator.dtype !== "float32" || addend.dtype !== "float32" || memory.refCount(accumulator) > 1 || accumulator.dataId === addend.dataId) return false
    kernels.addInto(memory.buffer(accumulator), memory.offset(accumulator), memory.buffer(addend), memory.offset(addend), accumulator.size)
    return true
  }
})
