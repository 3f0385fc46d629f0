/**
 * The "native" tfjs backend: tfjs-backend-wasm (its SIMD elementwise kernels, its heap) with the
 * matrix products on OpenBLAS through carl's N-API addon. It is registered under its own name,
 * so `--backend wasm` keeps the untouched reference kernels and tests can compare the two.
 */
import * as tf from "@tensorflow/tfjs"
import { loadNativeKernels, type NativeKernels } from "./addon.ts"
import { nativeGather, nativeUnary, sharedIdentity } from "./elementwise-kernels.ts"
import { nativeBatchMatMul, nativeFusedMatMul } from "./mat-mul-kernels.ts"

export const NATIVE_BACKEND = "native"

/** carl's kernels, each given wasm's own for the inputs it leaves to it. */
const overrides = (kernels: NativeKernels, wasm: (name: string) => tf.KernelFunc): ReadonlyMap<string, tf.KernelFunc> =>
  new Map([
    [tf.BatchMatMul, nativeBatchMatMul(kernels)],
    [tf._FusedMatMul, nativeFusedMatMul(kernels)],
    [tf.Identity, sharedIdentity(wasm(tf.Identity))],
    [tf.GatherV2, nativeGather(kernels, wasm(tf.GatherV2))],
    [tf.Exp, nativeUnary(kernels, "exp", wasm(tf.Exp))],
    [tf.Erf, nativeUnary(kernels, "erf", wasm(tf.Erf))]
  ])

let registered = false

/**
 * Registers the backend (once) and returns the reason it cannot be, if so. Kernels are copied from
 * "wasm" with their setup functions, which bind each kernel to the instance's own wasm module.
 */
export const registerNativeBackend = async (threads: number): Promise<{ readonly ok: true } | { readonly ok: false; readonly reason: string }> => {
  const addon = loadNativeKernels()
  if (!addon.ok) return addon
  addon.kernels.setThreads(threads)
  if (registered) return { ok: true }
  await import("@tensorflow/tfjs-backend-wasm")
  const wasmFactory = tf.findBackendFactory("wasm")
  if (wasmFactory === null || wasmFactory === undefined) return { ok: false, reason: "tfjs-backend-wasm did not register" }
  const wasmKernels = tf.getKernelsForBackend("wasm")
  const wasm = (name: string): tf.KernelFunc => {
    const found = wasmKernels.find((config) => config.kernelName === name)
    if (found === undefined) throw new Error(`tfjs-backend-wasm has no ${name} kernel`)
    return found.kernelFunc
  }
  const native = overrides(addon.kernels, wasm)
  for (const config of wasmKernels) {
    tf.registerKernel({ ...config, backendName: NATIVE_BACKEND, kernelFunc: native.get(config.kernelName) ?? config.kernelFunc })
  }
  for (const [kernelName, kernelFunc] of native) {
    if (tf.getKernel(kernelName, NATIVE_BACKEND) === undefined) tf.registerKernel({ kernelName, backendName: NATIVE_BACKEND, kernelFunc })
  }
  // Priority 0: never picked by tfjs on its own; carl's backend selection decides.
  tf.registerBackend(NATIVE_BACKEND, wasmFactory, 0)
  registered = true
  return { ok: true }
}

export const nativeBlasInfo = (): { readonly core: string; readonly config: string; readonly threads: number } | undefined => {
  const addon = loadNativeKernels()
  return addon.ok ? addon.kernels.blasInfo() : undefined
}
