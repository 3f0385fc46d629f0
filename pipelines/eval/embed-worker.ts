/**
 * One embedding worker thread (see embedders.ts): it selects the backend it is told, loads the
 * model by name once, then embeds the slices of texts it is sent, answering with one flat
 * Float32Array per slice (transferred, not copied).
 */
import { parentPort, workerData } from "node:worker_threads"
import { Effect } from "effect"
import { selectBackend, type BackendChoice } from "../../core/backend.ts"
import { loadTextEncoder } from "../../plugins/encoder/load-text-encoder.ts"
import { embedTexts, type EmbedOptions } from "../embed.ts"

export interface WorkerSetup {
  readonly model: string
  readonly backend: BackendChoice
  readonly offline: boolean
}

export interface EmbedRequest {
  readonly id: number
  readonly texts: ReadonlyArray<string>
  readonly options: EmbedOptions
}

export type WorkerReply =
  | { readonly type: "ready" }
  | { readonly type: "failed"; readonly problem: string }
  | { readonly type: "embedded"; readonly id: number; readonly vectors: Float32Array; readonly dims: number; readonly truncated: number }

const problemOf = (error: unknown) => (error instanceof Error ? error.message : String(error))

const port = parentPort
if (port !== null) {
  const setup = workerData as WorkerSetup
  const reply = (message: WorkerReply, transfer: ReadonlyArray<ArrayBuffer> = []) => port.postMessage(message, [...transfer])
  try {
    await Effect.runPromise(selectBackend(setup.backend))
    const model = await Effect.runPromise(loadTextEncoder(setup.model, { trainable: false, hub: { offline: setup.offline } }))
    port.on("message", (request: EmbedRequest) => {
      try {
        const { vectors, truncated } = embedTexts(model, request.texts, request.options)
        const dims = vectors[0]?.length ?? model.encoder.hiddenSize
        const flat = new Float32Array(vectors.length * dims)
        vectors.forEach((vector, i) => flat.set(vector, i * dims))
        reply({ type: "embedded", id: request.id, vectors: flat, dims, truncated }, [flat.buffer])
      } catch (error) {
        reply({ type: "failed", problem: problemOf(error) })
      }
    })
    reply({ type: "ready" })
  } catch (error) {
    reply({ type: "failed", problem: problemOf(error) })
  }
}
