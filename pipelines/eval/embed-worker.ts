/**
 * An embedding thread (see embedders.ts): it selects the backend it is told and loads the model
 * by name once, then embeds the slices of texts it is sent, answering each with one flat
 * Float32Array (transferred, not copied).
 */
import { workerData } from "node:worker_threads"
import { Effect } from "effect"
import { type BackendChoice } from "../../plugins/backends/index.ts"
import { selectBackend } from "../../plugins/backends/index.ts"
import { loadTextEncoder } from "../../plugins/encoders/load-text-encoder.ts"
import { embedTexts, type EmbedOptions } from "../embed.ts"
import { serveRequests } from "./worker-thread.ts"

export interface EmbedWorkerSetup {
  readonly model: string
  readonly backend: BackendChoice
  readonly offline: boolean
}

export interface EmbedRequest {
  readonly texts: ReadonlyArray<string>
  readonly options: EmbedOptions
}

export interface EmbedReply {
  /** Row-major [texts, dims]. */
  readonly vectors: Float32Array
  readonly dims: number
  readonly truncated: number
}

await serveRequests<EmbedRequest, EmbedReply>(async () => {
  const setup = workerData as EmbedWorkerSetup
  await Effect.runPromise(selectBackend(setup.backend))
  const model = await Effect.runPromise(loadTextEncoder(setup.model, { trainable: false, hub: { offline: setup.offline } }))
  return (request) => {
    const { vectors, truncated } = embedTexts(model, request.texts, request.options)
    const dims = vectors[0]?.length ?? model.encoder.hiddenSize
    const flat = new Float32Array(vectors.length * dims)
    vectors.forEach((vector, i) => flat.set(vector, i * dims))
    return { reply: { vectors: flat, dims, truncated }, transfer: [flat.buffer] }
  }
})
