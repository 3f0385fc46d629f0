/**
 * The tfjs backend, as an Effect service. `auto` takes the first that works of
 *   tensorflow (libtensorflow through @tensorflow/tfjs-node-gpu, then @tensorflow/tfjs-node),
 *   native (tfjs-backend-wasm with matrix products on OpenBLAS, through carl's N-API addon,
 *     where `npm install` could build it: plugins/backends/native, provided through provideBackend),
 *   wasm (@tensorflow/tfjs-backend-wasm, SIMD),
 *   cpu (plain JavaScript);
 * a named choice takes that one or fails. It reports what it picked and why.
 */
import { availableParallelism, totalmem } from "node:os"
import * as tf from "@tensorflow/tfjs"
import { Context, Effect, Layer } from "effect"
import { BackendUnavailable } from "./errors.ts"
import { WASM_HEAP_BYTES } from "./memory-plan.ts"
import { guardWasmHeap } from "./out-of-memory.ts"

export type BackendName = "tensorflow" | "native" | "native-cpu" | "wasm" | "cpu"
export type BackendChoice = BackendName | "auto"

export const BACKEND_CHOICES: ReadonlyArray<BackendChoice> = ["auto", "tensorflow", "native", "native-cpu", "wasm", "cpu"]

export interface BackendAttempt {
  readonly backend: BackendName
  readonly via: string
  readonly ok: boolean
  readonly detail: string
}

export interface BackendInfo {
  readonly name: BackendName
  /** The package that provides it. */
  readonly via: string
  /** One line: what was picked and why the ones before it were not. */
  readonly reason: string
  /** Threads its kernels use. */
  readonly threads: number
  /** Where its tensors live and how much of it training may plan to use (core/memory-plan.ts). */
  readonly memory: { readonly where: string; readonly budgetBytes: number }
  readonly attempts: ReadonlyArray<BackendAttempt>
}

export class Backend extends Context.Service<Backend, BackendInfo>()("carl/core/Backend") {
  static layer(choice: BackendChoice = "auto"): Layer.Layer<Backend, BackendUnavailable> {
    return Layer.effect(Backend, selectBackend(choice))
  }
}

const errorText = (error: unknown): string => {
  const message = error instanceof Error ? error.message : String(error)
  return message.split("\n")[0] ?? message
}

/** Importing a tfjs-node package registers its "tensorflow" backend with tfjs. */
const tryTensorflow = (packageName: string): Effect.Effect<BackendAttempt> =>
  Effect.tryPromise(() => import(packageName)).pipe(
    Effect.flatMap(() => Effect.promise(() => tf.setBackend("tensorflow"))),
    Effect.map((ok) => ({
      backend: "tensorflow" as const,
      via: packageName,
      ok,
      detail: ok ? "libtensorflow loaded" : "the package loaded but its backend did not initialise"
    })),
    Effect.catch((error) =>
      Effect.succeed({
        backend: "tensorflow" as const,
        via: packageName,
        ok: false,
        detail: errorText(error.cause).includes("Cannot find")
          ? "not installed (optional dependency; see the README on GPUs)"
          : errorText(error.cause)
      })
    )
  )

const tryRegistered = (backend: "wasm" | "cpu", via: string, load: () => Promise<unknown>): Effect.Effect<BackendAttempt> =>
  Effect.tryPromise(async () => {
    await load()
    return tf.setBackend(backend)
  }).pipe(
    Effect.map((ok) => ({ backend, via, ok, detail: ok ? "initialised" : "did not initialise" })),
    Effect.catch((error) => Effect.succeed({ backend, via, ok: false, detail: errorText(error.cause) }))
  )

/**
 * A backend a plugin brings (plugins/backends): "native" extends the wasm backend (heap ≤ 4 GiB),
 * "native-cpu" the cpu one (any size). `register` makes it known to tfjs, or says why it cannot.
 */
export interface BackendProvider {
  readonly name: "native" | "native-cpu"
  readonly via: string
  readonly register: (threads: number) => Promise<{ readonly ok: true } | { readonly ok: false; readonly reason: string }>
}

const providers = new Map<BackendName, BackendProvider>()

/** Makes a plugin's backend selectable (plugins/backends/index.ts provides carl's native ones). */
export const provideBackend = (provider: BackendProvider): void => {
  providers.set(provider.name, provider)
}

const tryProvided = (backend: "native" | "native-cpu", threads: number): Effect.Effect<BackendAttempt> => {
  const provider = providers.get(backend)
  if (provider === undefined) return Effect.succeed({ backend, via: "a backend plugin", ok: false, detail: "no plugin provides it here" })
  const via = provider.via
  return Effect.tryPromise(async () => {
    const registered = await provider.register(threads)
    if (!registered.ok) return { ok: false, detail: registered.reason }
    const ok = await tf.setBackend(backend)
    return { ok, detail: ok ? "initialised" : "did not initialise" }
  }).pipe(
    Effect.map((result) => ({ backend, via, ...result })),
    Effect.catch((error) => Effect.succeed({ backend, via, ok: false, detail: errorText(error.cause) }))
  )
}

const attemptsFor = (backend: BackendName, threads: number): ReadonlyArray<Effect.Effect<BackendAttempt>> => {
  switch (backend) {
    case "tensorflow":
      return [tryTensorflow("@tensorflow/tfjs-node-gpu"), tryTensorflow("@tensorflow/tfjs-node")]
    case "native":
    case "native-cpu":
      return [tryProvided(backend, threads)]
    case "wasm":
      return [tryRegistered("wasm", "@tensorflow/tfjs-backend-wasm", () => import("@tensorflow/tfjs-backend-wasm"))]
    case "cpu":
      return [tryRegistered("cpu", "@tensorflow/tfjs-backend-cpu", () => import("@tensorflow/tfjs-backend-cpu"))]
  }
}

/**
 * OPENBLAS_NUM_THREADS as OpenBLAS itself reads it: a whole number ≥ 1, else unset. Two jobs side
 * by side on a small machine run faster on one thread each than on every core each.
 */
const blasThreadsFromEnvironment = (): number | undefined => {
  const value = Number(process.env.OPENBLAS_NUM_THREADS)
  return Number.isInteger(value) && value >= 1 ? value : undefined
}

const threadsOf = (backend: BackendName): number => {
  // tfjs-backend-wasm runs one thread in Node; the cpu backend is single-threaded JavaScript;
  // libtensorflow sizes its pools to the machine; the native kernels' OpenBLAS runs what
  // OPENBLAS_NUM_THREADS says, else one thread per core.
  if (backend === "tensorflow") return availableParallelism()
  if (backend === "native" || backend === "native-cpu") return blasThreadsFromEnvironment() ?? availableParallelism()
  return 1
}

const GIB = 2 ** 30

/**
 * tfjs-backend-wasm's heap stops at 4 GiB, and its allocator does not get back all it frees: plan
 * 85% of it. Other backends keep tensors in the process's own memory: plan 75% of the machine's.
 */
const memoryOf = (backend: BackendName): BackendInfo["memory"] =>
  backend === "native" || backend === "wasm"
    ? { where: "the 4 GiB wasm heap", budgetBytes: Math.floor(0.85 * WASM_HEAP_BYTES) }
    : { where: `the machine's ${(totalmem() / GIB).toFixed(1)} GiB`, budgetBytes: Math.floor(0.75 * totalmem()) }

export const selectBackend = Effect.fn("selectBackend")(function* (choice: BackendChoice) {
  // tfjs's console banner about tfjs-node is noise: carl reports the backend itself.
  tf.env().set("PROD", true)
  const order: ReadonlyArray<BackendName> = choice === "auto" ? ["tensorflow", "native", "wasm", "cpu"] : [choice]
  const attempts: Array<BackendAttempt> = []
  for (const backend of order) {
    for (const attempt of attemptsFor(backend, threadsOf(backend))) {
      const result = yield* attempt
      attempts.push(result)
      if (result.ok) {
        yield* Effect.promise(() => tf.ready())
        guardWasmHeap(tf.backend())
        const skipped = attempts.filter((a) => !a.ok).map((a) => `${a.via}: ${a.detail}`)
        const why = choice === "auto" ? "first available" : "chosen with --backend"
        return {
          name: backend,
          via: result.via,
          reason: `${backend} via ${result.via} (${why})${skipped.length > 0 ? `; skipped ${skipped.join("; ")}` : ""}`,
          threads: threadsOf(backend),
          memory: memoryOf(backend),
          attempts
        } satisfies BackendInfo
      }
    }
  }
  return yield* new BackendUnavailable({
    backend: choice,
    reason: attempts.map((a) => `${a.via}: ${a.detail}`).join("; ")
  })
})

/** For code outside Effect: pick a backend as `--backend` would, and say which. */
export const useBackend = (choice: BackendChoice = "auto"): Promise<BackendInfo> => Effect.runPromise(selectBackend(choice))
