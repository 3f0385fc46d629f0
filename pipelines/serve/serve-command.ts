/**
 * `carl serve`: a local page for a model — type text and see it on the valence–arousal plane as
 * you type, with the nearest sentences of a reference corpus and their gold labels; a second tab
 * places it on the PCA map of the reference corpus. The model, its heads and the reference
 * embeddings are loaded once; the server runs until SIGINT or SIGTERM, then closes its
 * connections and exits.
 */
import { readFileSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { Console, Effect, Schema } from "effect"
import { problemText } from "../../core/errors.ts"
import { SeededRandom } from "../../core/random.ts"
import { BUNDLED_EMOBANK } from "../../plugins/data/bundled.ts"
import { readVaSpec, type DataSpec } from "../../plugins/data/va-spec.ts"
import type { VaExample } from "../../plugins/data/types.ts"
import { sampleIndices } from "../../plugins/evaluators/embedding-geometry.ts"
import { loadTextEncoderScoped } from "../../plugins/encoders/load-text-encoder.ts"
import { predictEkman, predictVa, toNominal } from "../../plugins/readouts/index.ts"
import { embedTexts } from "../embed.ts"
import { checkHeadWidth, modelWithHeads, readModelHeads } from "../heads/model-heads.ts"
import { nextSignal } from "../train/interruption.ts"
import { tokenBuckets } from "./rate-limit.ts"
import { buildReference, nearest, placeOnMap } from "./reference.ts"
import { createHandler, SERVE_LIMITS, type Asset, type ServeApp } from "./server.ts"

export class ServeError extends Schema.TaggedError<ServeError>()("ServeError", {
  problem: Schema.String
}) {
  override get message(): string {
    return this.problem
  }
}

export interface ServeOptions {
  readonly model: string
  readonly head?: string | undefined
  readonly host: string
  /** 0: any free port. */
  readonly port: number
  /** A VA corpus for the reference (default: the bundled EmoBank's test split). */
  readonly reference?: DataSpec | undefined
  /** Skip (and count) the reference corpus's bad rows instead of failing on the first. */
  readonly skipBadRows: boolean
  /** At most this many reference sentences (a seeded sample). */
  readonly referenceSize: number
  readonly neighbours: number
  readonly batchSize: number
  readonly offline: boolean
  /** Called once listening, with the page's address (tests). */
  readonly onListening?: (url: string) => void
}

const ASSET_TYPES: Readonly<Record<string, string>> = {
  "/index.html": "text/html; charset=utf-8",
  "/app.js": "text/javascript; charset=utf-8",
  "/app.css": "text/css; charset=utf-8"
}

const readAssets = (): Record<string, Asset> =>
  Object.fromEntries(
    Object.entries(ASSET_TYPES).map(([path, type]) => [path, { type, body: readFileSync(new URL(`./assets${path}`, import.meta.url), "utf8") }])
  )

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1", "[::1]"])

const round = (value: number, digits = 4) => Number(value.toFixed(digits))

export const serveCommand = Effect.fn("serveCommand")(function* (options: ServeOptions) {
  const resolved = yield* modelWithHeads(options.model, { headDir: options.head, hub: { offline: options.offline } })
  if (resolved.note !== undefined) yield* Console.error(`carl: ${resolved.note}`)
  const { va, ekman } = yield* readModelHeads(resolved.headDir, options.model, "optional")
  const referenceSpec: DataSpec = options.reference ?? { file: BUNDLED_EMOBANK, format: "emobank" }
  const corpus = yield* readVaSpec(referenceSpec, options.skipBadRows)
  const examples: ReadonlyArray<VaExample> =
    options.reference === undefined ? corpus.examples.filter((example) => example.split === "test") : corpus.examples
  const chosen = sampleIndices(examples.length, options.referenceSize, new SeededRandom(42).fork("serve-reference")).map((i) => examples[i] as VaExample)
  if (chosen.length < 3) return yield* new ServeError({ problem: `${referenceSpec.file}: ${chosen.length} reference sentences; the map needs at least 3` })

  const loopback = LOOPBACK.has(options.host)
  let app: ServeApp | undefined
  const handler = createHandler({
    app: () => app,
    assets: readAssets(),
    limits: SERVE_LIMITS,
    rateLimiter: tokenBuckets({ perSecond: 20, burst: 40 }),
    loopbackOnly: loopback,
    onError: (error) => process.stderr.write(`carl serve: a request failed: ${problemText(error)}\n`)
  })
  const server = yield* Effect.acquireRelease(
    Effect.callback<Server, ServeError>((resume) => {
      const created = createServer(handler)
      created.once("error", (error: NodeJS.ErrnoException) =>
        resume(
          Effect.fail(
            new ServeError({
              problem: `cannot listen on ${options.host}:${options.port} (${error.code ?? error.message})${error.code === "EADDRINUSE" ? "; choose another --port, or --port 0 for any free one" : ""}`
            })
          )
        )
      )
      created.listen(options.port, options.host, () => resume(Effect.succeed(created)))
    }),
    (listening) =>
      Effect.callback<void>((resume) => {
        listening.close(() => resume(Effect.void))
        listening.closeAllConnections()
      })
  )
  // Listening before the model loads: a port in use fails at once, and the page shows "loading".
  const port = (server.address() as AddressInfo).port
  const url = `http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${port}/`
  yield* Console.error(`carl serve: listening on ${url}; loading ${resolved.model} and the reference corpus`)

  const text = yield* loadTextEncoderScoped(resolved.model, { trainable: false, hub: { offline: options.offline } })
  // Scopes close in reverse: this runs before the weights go, so a late request gets a 503, not freed weights.
  yield* Effect.addFinalizer(() => Effect.sync(() => (app = undefined)))
  const embedSettings = { pooling: va.card.encoder.pooling, batchSize: options.batchSize, maxLength: Math.min(va.card.encoder.maxLength, text.maxLength) }
  const started = performance.now()
  const vectors = embedTexts(text, chosen.map((sentence) => sentence.text), embedSettings).vectors
  yield* checkHeadWidth(resolved.headDir, va, options.model, resolved.model, vectors[0]?.length ?? 0)
  const reference = yield* Effect.try({
    try: () => buildReference(vectors),
    catch: (error) => new ServeError({ problem: `the reference corpus ${referenceSpec.file}: ${problemText(error)}` })
  })
  yield* Console.error(`carl serve: ${chosen.length} reference sentences from ${referenceSpec.file} embedded in ${((performance.now() - started) / 1000).toFixed(1)} s`)

  // Labels on [−1, 1] and on a nominal scale: the reference corpus's for its sentences, the head's for a prediction.
  const labels = (valence: number, arousal: number, scale: { readonly min: number; readonly max: number } | null) => ({
    valenceNorm: round(valence),
    arousalNorm: round(arousal),
    ...(scale === null ? {} : { valence: round(toNominal(valence, scale), 3), arousal: round(toNominal(arousal, scale), 3) })
  })
  const scale = va.card.corpus.scale
  const goldLabels = chosen.map((sentence) => labels(sentence.valence, sentence.arousal, corpus.scale))
  app = {
    info: {
      model: options.model,
      loaded: resolved.model,
      head: { corpus: va.card.corpus.name, scale, test: va.card.test },
      emotion: ekman === undefined ? null : { classes: ekman.card.classes, corpus: ekman.card.corpus.name },
      reference: {
        name: referenceSpec.file,
        size: chosen.length,
        explained: reference.pca.explainedVarianceRatio.map((ratio) => round(ratio)),
        points: chosen.map((sentence, i) => ({
          text: sentence.text,
          x: round(reference.points[i]?.[0] ?? 0),
          y: round(reference.points[i]?.[1] ?? 0),
          ...goldLabels[i]
        }))
      },
      limits: SERVE_LIMITS
    },
    predict: (input) => {
      const [vector] = embedTexts(text, [input], embedSettings).vectors
      if (vector === undefined) throw new Error("no embedding")
      const [prediction] = predictVa(va.readout, [vector])
      const [emotion] = ekman === undefined ? [] : predictEkman(ekman.readout, [vector])
      const [x, y] = placeOnMap(reference, vector)
      return {
        text: input,
        ...labels(prediction?.valence ?? Number.NaN, prediction?.arousal ?? Number.NaN, scale),
        ...(emotion === undefined ? {} : { emotion: { name: emotion.emotion, probability: round(emotion.probability) } }),
        map: { x: round(x), y: round(y) },
        nearest: nearest(reference, vector, options.neighbours).map(({ index, similarity }) => ({
          text: chosen[index]?.text ?? "",
          similarity: round(similarity),
          ...goldLabels[index]
        }))
      }
    }
  }

  if (!loopback) yield* Console.error(`carl serve: warning: listening on ${options.host}, not only this machine: anyone who can reach it can use the model`)
  yield* Console.log(`carl serve: ${url}  (${options.model}; Ctrl-C stops)`)
  options.onListening?.(url)
  const signal = yield* nextSignal
  yield* Console.error(`carl serve: ${signal}: stopped`)
})
