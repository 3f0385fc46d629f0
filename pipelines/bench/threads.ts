/**
 * `--threads N` against what the backend really does with it. Nothing here pretends: the count
 * reported is the one the kernels run on, and the request is recorded beside it.
 */
import type { BackendInfo } from "../../plugins/backends/index.ts"
import { loadNativeKernels } from "../../plugins/backends/native/addon.ts"

export interface ThreadsReport {
  /** Threads the backend's kernels run on. */
  readonly threads: number
  readonly requested: number | null
  readonly note: string
}

export const threadsReport = async (backend: BackendInfo, requested: number | undefined): Promise<ThreadsReport> => {
  const asked = requested ?? null
  switch (backend.name) {
    case "wasm": {
      // Asked of the library rather than assumed, so that a tfjs that one day runs threads in Node shows it.
      const wasm = await import("@tensorflow/tfjs-backend-wasm")
      return {
        threads: wasm.getThreadsCount(),
        requested: asked,
        note:
          "tfjs-backend-wasm runs one thread in Node whatever --threads says: it reports no multithread " +
          "support under Node (WASM_HAS_MULTITHREAD_SUPPORT is false there) and loads its non-threaded SIMD binary"
      }
    }
    case "native":
    case "native-cpu": {
      const addon = loadNativeKernels()
      if (addon.ok && requested !== undefined) addon.kernels.setThreads(requested)
      const blas = addon.ok ? addon.kernels.blasInfo() : undefined
      return {
        threads: blas?.threads ?? backend.threads,
        requested: asked,
        note:
          `matrix products on OpenBLAS (${blas?.core ?? "?"} kernels) with this many threads; the other kernels ` +
          `are tfjs-backend-${backend.name === "native" ? "wasm" : "cpu"}'s, one thread`
      }
    }
    case "cpu":
      return { threads: 1, requested: asked, note: "tfjs-backend-cpu is single-threaded JavaScript; --threads is recorded, not applied" }
    case "tensorflow":
      return {
        threads: backend.threads,
        requested: asked,
        note:
          "tfjs-node exposes no thread setting; libtensorflow sizes its own pools (threads = the machine's " +
          "available parallelism), so --threads is recorded, not applied"
      }
  }
}
