/**
 * Where embeddings are computed on a cache miss: in this thread, or in a pool of worker threads
 * that each load the model. tfjs's wasm and cpu backends run one thread in Node, so on a machine
 * with spare cores a pool embeds several slices at once; libtensorflow already uses every core,
 * so with it one in-process embedder is right. Either way the model is loaded only on the first
 * miss, and texts are handed out in length order, so a batch pads as little as one call over
 * all the texts would.
 */
import { Worker } from "node:worker_threads"
import { Effect, Schema } from "effect"
import type { BackendChoice } from "../../core/backend.ts"
import type { TextEncoder } from "../../plugins/encoder/load-text-encoder.ts"
import { embedTexts, type EmbedOptions } from "../embed.ts"
import type { EmbedRequest, WorkerReply, WorkerSetup } from "./embed-worker.ts"

export interface EmbeddingProgress {
  readonly done: number
  readonly total: number
  readonly seconds: number
}

export interface Embedded {
  /** In input order. */
  readonly vectors: ReadonlyArray<Float32Array>
  readonly truncated: number
}

export interface Embedder<E> {
  readonly embed: (
    texts: ReadonlyArray<string>,
    options: EmbedOptions,
    onProgress: (progress: EmbeddingProgress) => Effect.Effect<void>
  ) => Effect.Effect<Embedded, E>
  /** Frees whatever `embed` loaded; embedding again afterwards loads it anew. */
  readonly close: Effect.Effect<void>
}

export class EmbedWorkerError extends Schema.TaggedError<EmbedWorkerError>()("EmbedWorkerError", {
  model: Schema.String,
  problem: Schema.String
}) {
  override get message(): string {
    return `${this.model}: embedding worker: ${this.problem}`
  }
}

const lengthOrder = (texts: ReadonlyArray<string>): Array<number> =>
  texts.map((text, index) => ({ index, length: text.length })).sort((a, b) => a.length - b.length).map(({ index }) => index)

/** Embeds in this thread, `chunk` texts at a time (reporting and yielding between them). */
export const inProcessEmbedder = <E>(load: Effect.Effect<TextEncoder, E>, chunk = 2048): Embedder<E> => {
  let model: TextEncoder | undefined
  return {
    embed: (texts, options, onProgress) =>
      Effect.gen(function* () {
        if (model === undefined) model = yield* load
        const loaded = model
        const order = lengthOrder(texts)
        const vectors: Array<Float32Array> = new Array(texts.length)
        let truncated = 0
        const started = performance.now()
        for (let start = 0; start < order.length; start += chunk) {
          const slice = order.slice(start, start + chunk)
          const result = embedTexts(loaded, slice.map((index) => texts[index] ?? ""), options)
          truncated += result.truncated
          slice.forEach((index, i) => {
            vectors[index] = result.vectors[i] as Float32Array
          })
          yield* onProgress({ done: Math.min(start + chunk, order.length), total: order.length, seconds: (performance.now() - started) / 1000 })
          yield* Effect.yieldNow
        }
        return { vectors, truncated } satisfies Embedded
      }),
    close: Effect.sync(() => {
      model?.encoder.parameters.dispose()
      model = undefined
    })
  }
}

interface PoolWorker {
  readonly worker: Worker
  readonly embed: (texts: ReadonlyArray<string>, options: EmbedOptions) => Effect.Effect<{ readonly flat: Float32Array; readonly dims: number; readonly truncated: number }, EmbedWorkerError>
}

// Worker threads do not inherit tsx's module hooks: each registers them before importing its entry.
const workerSource = (): string => {
  const tsx = import.meta.resolve("tsx/esm/api")
  const entry = new URL("./embed-worker.ts", import.meta.url).href
  return `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}) })`
}

const startWorker = (setup: WorkerSetup): Effect.Effect<PoolWorker, EmbedWorkerError> =>
  Effect.callback<PoolWorker, EmbedWorkerError>((resume) => {
    const worker = new Worker(workerSource(), { eval: true, workerData: setup })
    const fail = (problem: string) => new EmbedWorkerError({ model: setup.model, problem })
    const pending = new Map<number, (reply: Extract<WorkerReply, { type: "embedded" }> | { type: "failed"; problem: string }) => void>()
    let nextId = 0
    let ready = false
    const failAll = (problem: string) => {
      for (const settle of pending.values()) settle({ type: "failed", problem })
      pending.clear()
    }
    worker.on("message", (reply: WorkerReply) => {
      if (reply.type === "ready") {
        ready = true
        resume(Effect.succeed(pool))
      } else if (!ready) {
        resume(Effect.fail(fail(reply.type === "failed" ? reply.problem : "answered before it was ready")))
        void worker.terminate()
      } else if (reply.type === "embedded") {
        pending.get(reply.id)?.(reply)
        pending.delete(reply.id)
      } else failAll(reply.problem)
    })
    worker.on("error", (error) => {
      if (!ready) resume(Effect.fail(fail(error.message)))
      failAll(error.message)
    })
    worker.on("exit", (code) => failAll(`exited (code ${code})`))
    const pool: PoolWorker = {
      worker,
      embed: (texts, options) =>
        Effect.callback((settle) => {
          const id = nextId++
          pending.set(id, (reply) =>
            settle(reply.type === "embedded" ? Effect.succeed({ flat: reply.vectors, dims: reply.dims, truncated: reply.truncated }) : Effect.fail(fail(reply.problem)))
          )
          const request: EmbedRequest = { id, texts, options }
          worker.postMessage(request)
        })
    }
  })

/**
 * `workers` threads, each loading `model` by name on the first miss. Slices of `slice` texts go
 * to whichever worker is free, so a slower thread (another process on its core) takes fewer.
 */
export const workerPoolEmbedder = (settings: {
  readonly model: string
  readonly workers: number
  readonly backend: BackendChoice
  readonly offline: boolean
  readonly slice?: number
  /** Runs once, when the first miss starts the threads. */
  readonly onStart?: Effect.Effect<void>
}): Embedder<EmbedWorkerError> => {
  let pool: ReadonlyArray<PoolWorker> | undefined
  const slice = settings.slice ?? 256
  const setup: WorkerSetup = { model: settings.model, backend: settings.backend, offline: settings.offline }
  const terminate = (workers: ReadonlyArray<PoolWorker>) => Effect.promise(() => Promise.all(workers.map(({ worker }) => worker.terminate())))
  return {
    embed: (texts, options, onProgress) =>
      Effect.gen(function* () {
        if (pool === undefined) {
          yield* settings.onStart ?? Effect.void
          const started = yield* Effect.forEach(Array.from({ length: settings.workers }), () => Effect.result(startWorker(setup)), { concurrency: "unbounded" })
          const ok = started.flatMap((result) => (result._tag === "Success" ? [result.success] : []))
          const failed = started.find((result) => result._tag === "Failure")
          if (failed !== undefined && failed._tag === "Failure") {
            yield* terminate(ok)
            return yield* failed.failure
          }
          pool = ok
        }
        const workers = pool
        const order = lengthOrder(texts)
        const vectors: Array<Float32Array> = new Array(texts.length)
        let truncated = 0
        let next = 0
        let done = 0
        const started = performance.now()
        yield* Effect.forEach(
          workers,
          (worker) =>
            Effect.gen(function* () {
              while (next < order.length) {
                const indices = order.slice(next, next + slice)
                next += indices.length
                const result = yield* worker.embed(indices.map((index) => texts[index] ?? ""), options)
                indices.forEach((index, i) => {
                  vectors[index] = result.flat.slice(i * result.dims, (i + 1) * result.dims)
                })
                truncated += result.truncated
                done += indices.length
                yield* onProgress({ done, total: order.length, seconds: (performance.now() - started) / 1000 })
              }
            }),
          { concurrency: "unbounded", discard: true }
        )
        return { vectors, truncated } satisfies Embedded
      }),
    close: Effect.suspend(() => {
      const workers = pool ?? []
      pool = undefined
      return terminate(workers).pipe(Effect.asVoid)
    })
  }
}
