/**
 * carl's native backends: a tfjs backend's own kernels with the heavy ones replaced by calls into
 * carl's N-API addon (matrix products on OpenBLAS, gather, slices and transposes, vectorised exp/erf).
 *   "native"      extends tfjs-backend-wasm: its SIMD elementwise kernels, its heap (≤ 4 GiB);
 *   "native-cpu"  extends tfjs-backend-cpu: JavaScript elementwise kernels, but tensors in ordinary
 *                 memory, so models bigger than the wasm heap (BERT-base under CARL) train.
 * Each is registered under its own name, so `--backend wasm` and `--backend cpu` keep the untouched
 * reference kernels and tests can compare them.
 */
import * as tf from "@tensorflow/tfjs"
import { loadNativeKernels, type NativeKernels } from "./addon.ts"
import { registerBackendExtras } from "../../../core/backend-extras.ts"
import { nativeSlice, nativeSplitV, nativeTranspose, type StridedCopy } from "./copy-kernels.ts"
import { nativeGather, nativeUnary, sharedIdentity } from "./elementwise-kernels.ts"
import { nativeFusedUpdates } from "./fused-updates.ts"
import { nativeBatchMatMul, nativeFusedMatMul } from "./mat-mul-kernels.ts"

export const NATIVE_BACKEND = "native"
export const NATIVE_CPU_BACKEND = "native-cpu"
export type NativeBackendName = typeof NATIVE_BACKEND | typeof NATIVE_CPU_BACKEND

const BASE: Readonly<Record<NativeBackendName, { readonly name: "wasm" | "cpu"; readonly load: () => Promise<unknown> }>> = {
  [NATIVE_BACKEND]: { name: "wasm", load: () => import("@tensorflow/tfjs-backend-wasm") },
  [NATIVE_CPU_BACKEND]: { name: "cpu", load: () => import("@tensorflow/tfjs-backend-cpu") }
}

/**
 * Transpose, and on wasm Slice and SplitV, where the addon has stridedCopy (one built before it
 * lacks it). tfjs-cpu's contiguous slices are views of their input, cheaper than any copy.
 */
const copyKernels = (
  copy: StridedCopy | undefined,
  base: (name: string) => tf.KernelFunc,
  baseName: "wasm" | "cpu"
): ReadonlyArray<readonly [string, tf.KernelFunc]> => {
  if (copy === undefined) return []
  const transpose = [tf.Transpose, nativeTranspose(copy, base(tf.Transpose))] as const
  if (baseName === "cpu") return [transpose]
  return [transpose, [tf.Slice, nativeSlice(copy, base(tf.Slice))], [tf.SplitV, nativeSplitV(copy, base(tf.SplitV))]]
}

/** carl's kernels, each given the base backend's own for the inputs it leaves to it. */
const overrides = (kernels: NativeKernels, base: (name: string) => tf.KernelFunc, baseName: "wasm" | "cpu"): ReadonlyMap<string, tf.KernelFunc> =>
  new Map([
    [tf.BatchMatMul, nativeBatchMatMul(kernels)],
    [tf._FusedMatMul, nativeFusedMatMul(kernels)],
    // tfjs-cpu's Identity already shares its input; tfjs-wasm's copies it.
    ...(baseName === "wasm" ? [[tf.Identity, sharedIdentity(base(tf.Identity))] as const] : []),
    [tf.GatherV2, nativeGather(kernels, base(tf.GatherV2))],
    [tf.Exp, nativeUnary(kernels, "exp", base(tf.Exp))],
    [tf.Erf, nativeUnary(kernels, "erf", base(tf.Erf))],
    ...copyKernels(kernels.stridedCopy, base, baseName)
  ])

const registered = new Set<NativeBackendName>()

/**
 * Registers the backend (once) and returns the reason it cannot be, if so. Kernels are copied from
 * the base backend with their setup functions, which bind each kernel to the new instance.
 */
export const registerNativeBackend = async (
  threads: number,
  name: NativeBackendName = NATIVE_BACKEND
): Promise<{ readonly ok: true } | { readonly ok: false; readonly reason: string }> => {
  const addon = loadNativeKernels()
  if (!addon.ok) return addon
  addon.kernels.setThreads(threads)
  if (registered.has(name)) return { ok: true }
  const base = BASE[name]
  await base.load()
  const baseFactory = tf.findBackendFactory(base.name)
  if (baseFactory === null || baseFactory === undefined) return { ok: false, reason: `tfjs-backend-${base.name} did not register` }
  const baseKernels = tf.getKernelsForBackend(base.name)
  const baseKernel = (kernelName: string): tf.KernelFunc => {
    const found = baseKernels.find((config) => config.kernelName === kernelName)
    if (found === undefined) throw new Error(`tfjs-backend-${base.name} has no ${kernelName} kernel`)
    return found.kernelFunc
  }
  const native = overrides(addon.kernels, baseKernel, base.name)
  for (const config of baseKernels) {
    tf.registerKernel({ ...config, backendName: name, kernelFunc: native.get(config.kernelName) ?? config.kernelFunc })
  }
  for (const [kernelName, kernelFunc] of native) {
    if (tf.getKernel(kernelName, name) === undefined) tf.registerKernel({ kernelName, backendName: name, kernelFunc })
  }
  // Priority 0: never picked by tfjs on its own; carl's backend selection decides.
  tf.registerBackend(name, baseFactory, 0)
  registerBackendExtras(name, { updates: nativeFusedUpdates(addon.kernels), flaggedMatMul: true })
  registered.add(name)
  return { ok: true }
}
