/**
 * Backends, the kind of plugin that runs tfjs's kernels: carl's native ones (an N-API addon on
 * OpenBLAS, native/), made selectable here beside the ones core/backend.ts knows itself. Select a
 * backend through this module (not core/backend.ts directly), so that these are among the choices.
 */
import { provideBackend } from "../../core/backend.ts"
import { NATIVE_BACKEND, NATIVE_CPU_BACKEND, registerNativeBackend } from "./native/register.ts"

provideBackend({ name: NATIVE_BACKEND, via: "carl native kernels (OpenBLAS) on tfjs-backend-wasm", register: (threads) => registerNativeBackend(threads, NATIVE_BACKEND) })
provideBackend({ name: NATIVE_CPU_BACKEND, via: "carl native kernels (OpenBLAS) on tfjs-backend-cpu", register: (threads) => registerNativeBackend(threads, NATIVE_CPU_BACKEND) })

export { Backend, BACKEND_CHOICES, selectBackend, useBackend, type BackendChoice, type BackendInfo, type BackendName } from "../../core/backend.ts"
