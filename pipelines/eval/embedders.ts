/**
 * Where embeddings are computed on a cache miss: in this thread, or in a pool of worker threads
 * that each load the model. tfjs's wasm and cpu backends run one thread in Node, so on a machine
 * with spare cores a pool embeds several slices at once; libtensorflow already uses every core,
 * so with it one in-process embedder is right. Either way the model is loaded only on the first
 * miss, and texts are handed out in length order, so a batch pads as little as one call over
 * all the texts would.
 */
import { Effect } from "effect"
import type { BackendChoice } from "../../plugins/backends/index.ts"
import type { TextEncoder } from "../../plugins/encoders/load-text-encoder.ts"
import { embedTexts, type EmbedOptions } from "../embed.ts"
import type { EmbedReply, EmbedRequest, EmbedWorkerSetup } from "./embed-worker.ts"
import { runOnThreads, startWorkerThread, type WorkerThread, type WorkerThreadError } from "./worker-thread.ts"

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
}): Embedder<WorkerThreadError> => {
  let pool: ReadonlyArray<WorkerThread<EmbedRequest, EmbedReply>> | undefined
  const slice = settings.slice ?? 256
  const setup: EmbedWorkerSetup = { model: settings.model, backend: settings.backend, offline: settings.offline }
  const entry = new URL("./embed-worker.ts", import.meta.url)
  return {
    embed: (texts, options, onProgress) =>
      Effect.gen(function* () {
        if (pool === undefined) {
          yield* settings.onStart ?? Effect.void
          pool = yield* startThreads(settings.workers, () => startWorkerThread<EmbedRequest, EmbedReply>(`embedding thread for ${settings.model}`, entry, setup))
        }
        const order = lengthOrder(texts)
        const slices: Array<Array<number>> = []
        for (let start = 0; start < order.length; start += slice) slices.push(order.slice(start, start + slice))
        const vectors: Array<Float32Array> = new Array(texts.length)
        let truncated = 0
        let done = 0
        const started = performance.now()
        yield* runOnThreads(
          pool.map((thread) => ({ run: (indices: ReadonlyArray<number>) => thread.request({ texts: indices.map((index) => texts[index] ?? ""), options }) })),
          slices,
          (indices, result) => {
            indices.forEach((index, i) => {
              vectors[index] = result.vectors.slice(i * result.dims, (i + 1) * result.dims)
            })
            truncated += result.truncated
            done += indices.length
            return onProgress({ done, total: order.length, seconds: (performance.now() - started) / 1000 })
          }
        )
        return { vectors, truncated } satisfies Embedded
      }),
    close: Effect.suspend(() => {
      const threads = pool ?? []
      pool = undefined
      return Effect.forEach(threads, (thread) => thread.terminate, { discard: true })
    })
  }
}

/** `count` threads started together; if any fails, the others are stopped and its error returned. */
export const startThreads = <T extends { readonly terminate: Effect.Effect<void> }, E>(count: number, start: () => Effect.Effect<T, E>): Effect.Effect<Array<T>, E> =>
  Effect.gen(function* () {
    const started = yield* Effect.forEach(Array.from({ length: count }), () => Effect.result(start()), { concurrency: "unbounded" })
    const ok = started.flatMap((result) => (result._tag === "Success" ? [result.success] : []))
    for (const result of started) {
      if (result._tag === "Failure") {
        yield* Effect.forEach(ok, (thread) => thread.terminate, { discard: true })
        return yield* Effect.fail(result.failure)
      }
    }
    return ok
  })
