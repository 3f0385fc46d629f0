/**
 * Sentence embeddings from any encoder: texts are tokenized, sorted by length so each batch
 * carries little padding, run through the encoder graph (word embeddings → transformer →
 * pooling) forward only, and returned in input order.
 */
import * as tf from "@tensorflow/tfjs"
import { runForward } from "../core/executor.ts"
import { GraphBuilder } from "../core/graph.ts"
import { Ports } from "../plugins/carl/ports.ts"
import { embedTokens, encode, pool } from "../plugins/carl/encoder.ts"
import { type Encoder, type Pooling } from "../plugins/encoders/index.ts"
import type { TextEncoder } from "../plugins/encoders/load-text-encoder.ts"

export interface EmbedOptions {
  readonly batchSize: number
  readonly maxLength: number
  readonly pooling: Pooling
}

const buildEmbeddingGraph = (encoder: Encoder, pooling: Pooling) =>
  GraphBuilder.from(Ports.tokenIds, Ports.attentionMask)
    .add(embedTokens(encoder))
    .add(encode(encoder))
    .add(pool(encoder, pooling))
    .build()

type EmbeddingGraph = ReturnType<typeof buildEmbeddingGraph>

// One graph per encoder and pooling, built (and planned by the executor) once: `carl serve`
// embeds every typed text, a training run every evaluation.
const graphs = new WeakMap<Encoder, Map<Pooling, EmbeddingGraph>>()

/** The forward graph every embedding goes through. */
const embeddingGraph = (encoder: Encoder, pooling: Pooling): EmbeddingGraph => {
  const byPooling = graphs.get(encoder) ?? new Map<Pooling, EmbeddingGraph>()
  graphs.set(encoder, byPooling)
  const graph = byPooling.get(pooling) ?? buildEmbeddingGraph(encoder, pooling)
  byPooling.set(pooling, graph)
  return graph
}

export interface Embedded {
  readonly vectors: ReadonlyArray<Float32Array>
  /** How many texts were cut to `maxLength`. */
  readonly truncated: number
}

export const embedTexts = (model: TextEncoder, texts: ReadonlyArray<string>, options: EmbedOptions): Embedded => {
  const maxLength = Math.min(options.maxLength, model.maxLength)
  const graph = embeddingGraph(model.encoder, options.pooling)
  // Rough lengths are enough to group similar texts; the tokenizer decides the real ones.
  const order = texts.map((text, index) => ({ index, length: text.length })).sort((a, b) => a.length - b.length)
  const vectors: Array<Float32Array> = new Array(texts.length)
  let truncated = 0
  for (let start = 0; start < order.length; start += options.batchSize) {
    const slice = order.slice(start, start + options.batchSize)
    const encoded = model.tokenizer.encodeBatch(
      slice.map(({ index }) => texts[index] ?? ""),
      { maxLength }
    )
    truncated += encoded.truncated
    const pooled = tf.tidy(() => {
      const inputs = {
        tokenIds: tf.tensor2d(encoded.ids, [encoded.batch, encoded.seqLength], "int32"),
        attentionMask: tf.tensor2d(encoded.attentionMask, [encoded.batch, encoded.seqLength])
      }
      return runForward(graph, inputs, ["sentenceEmbedding"]).sentenceEmbedding
    })
    const values = pooled.dataSync() as Float32Array
    const width = pooled.shape[1]
    pooled.dispose()
    slice.forEach(({ index }, row) => {
      vectors[index] = values.slice(row * width, (row + 1) * width)
    })
  }
  return { vectors, truncated }
}
