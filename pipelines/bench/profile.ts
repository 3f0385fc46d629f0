/**
 * Where one CARL step's time goes, kernel by kernel, from tfjs's own profiler (tf.profile). On
 * the wasm and cpu backends a kernel runs synchronously, so its time is the wall time of the call.
 * Matmul FLOPs are counted from the shapes the kernels really ran on, so the figure holds whatever
 * the graph does (PGD's input-only backward, customGrad dense layers, broadcast batches).
 */
import * as tf from "@tensorflow/tfjs"
import { runBenchStep, type BenchRun } from "./steps.ts"

const MATMUL_KERNELS: ReadonlySet<string> = new Set(["BatchMatMul", "_FusedMatMul"])

export interface KernelTotal {
  readonly kernel: string
  readonly calls: number
  readonly ms: number
  /** Share of the summed kernel time, in %. */
  readonly share: number
}

export interface StepProfile {
  /** Wall time of the profiled step, profiling overhead included. */
  readonly wall_ms: number
  /** Sum of every kernel's time; wall_ms minus this is JavaScript outside kernels (tape, tidy, dispose, profiler). */
  readonly kernel_ms: number
  readonly kernel_calls: number
  /**
   * Time inside tf.customGrad forwards ("unnamed scope"): the profiler lists such a scope as a
   * kernel although the kernels it runs are listed too, so it is kept out of kernel_ms and top.
   */
  readonly scope_ms: number
  readonly matmul_gflop: number
  readonly matmul_ms: number
  /** GFLOP/s inside the matmul kernels alone. */
  readonly matmul_gflops_in_kernels: number
  readonly top: ReadonlyArray<KernelTotal>
  /** The same totals split by input shapes, which tell which layer or gradient a kernel served. */
  readonly top_by_shape: ReadonlyArray<KernelTotal & { readonly inputs: string }>
}

const product = (values: ReadonlyArray<number>): number => values.reduce((a, b) => a * b, 1)

/**
 * 2·M·N·K per output batch: out is [..., M, N] and a is [..., M, K] or [..., K, M] (transposed),
 * so K = a's last two dims / M, whatever the transpose flags were.
 */
export const matmulFlops = (inputShapes: ReadonlyArray<ReadonlyArray<number> | null>, outputShape: ReadonlyArray<number>): number => {
  const a = inputShapes[0]
  if (a === null || a === undefined || a.length < 2 || outputShape.length < 2) return 0
  const m = outputShape[outputShape.length - 2] ?? 0
  if (m === 0) return 0
  const k = ((a[a.length - 1] ?? 0) * (a[a.length - 2] ?? 0)) / m
  return 2 * product(outputShape) * k
}

const round = (value: number, digits: number): number => Number(value.toFixed(digits))

/** One more CARL step, under the profiler; the run's weights move as in any step. */
export const profileStep = async (run: BenchRun, top = 15): Promise<StepProfile> => {
  let wallMs = 0
  const info = await tf.profile(() => {
    const started = performance.now()
    runBenchStep(run)
    wallMs = performance.now() - started
    return undefined
  })
  const totals = new Map<string, { calls: number; ms: number }>()
  const byShape = new Map<string, { kernel: string; inputs: string; calls: number; ms: number }>()
  let kernelMs = 0
  let scopeMs = 0
  let calls = 0
  let flops = 0
  let matmulMs = 0
  const backend = tf.getBackend()
  for (const kernel of info.kernels) {
    const ms = typeof kernel.kernelTimeMs === "number" ? kernel.kernelTimeMs : 0
    if (tf.getKernel(kernel.name, backend) === undefined) {
      scopeMs += ms
      continue
    }
    kernelMs += ms
    calls += 1
    const total = totals.get(kernel.name) ?? { calls: 0, ms: 0 }
    totals.set(kernel.name, { calls: total.calls + 1, ms: total.ms + ms })
    const inputs = JSON.stringify(kernel.inputShapes)
    const key = `${kernel.name} ${inputs}`
    const shaped = byShape.get(key) ?? { kernel: kernel.name, inputs, calls: 0, ms: 0 }
    byShape.set(key, { ...shaped, calls: shaped.calls + 1, ms: shaped.ms + ms })
    if (MATMUL_KERNELS.has(kernel.name)) {
      flops += matmulFlops(kernel.inputShapes, kernel.outputShapes[0] ?? [])
      matmulMs += ms
    }
  }
  const ranked = [...totals].sort((a, b) => b[1].ms - a[1].ms)
  const share = (ms: number) => (kernelMs > 0 ? round((100 * ms) / kernelMs, 1) : 0)
  return {
    wall_ms: round(wallMs, 1),
    kernel_ms: round(kernelMs, 1),
    kernel_calls: calls,
    scope_ms: round(scopeMs, 1),
    matmul_gflop: round(flops / 1e9, 3),
    matmul_ms: round(matmulMs, 1),
    matmul_gflops_in_kernels: matmulMs > 0 ? round(flops / 1e6 / matmulMs, 2) : 0,
    top: ranked.slice(0, top).map(([kernel, { calls, ms }]) => ({
      kernel,
      calls,
      ms: round(ms, 1),
      share: share(ms)
    })),
    top_by_shape: [...byShape.values()]
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top)
      .map(({ kernel, inputs, calls, ms }) => ({ kernel, inputs, calls, ms: round(ms, 1), share: share(ms) }))
  }
}
