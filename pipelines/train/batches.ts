/**
 * Training batches from sentences tokenized once: a batch is a set of rows, so its rows are put in
 * order of length, longest first. Nothing in a CARL step depends on the order of a batch's rows
 * (MCCL sums over every pair, PTD over every token), and in that order consecutive rows have
 * similar lengths: each micro-batch is then cut to its own longest row (core/micro-batch.ts)
 * instead of the batch's, which is most of the padding of a batch of short and long sentences.
 */
import * as tf from "@tensorflow/tfjs"
import type { TextTokenizer } from "../../plugins/encoders/load-text-encoder.ts"
import { padRows } from "../../plugins/encoders/tokenizer/pad-rows.ts"
import type { CarlBatch } from "../carl-graph.ts"
import type { TrainingExample } from "./training-data.ts"

/** The examples' token rows, tokenized once for the whole run. */
export interface TokenizedExamples {
  readonly examples: ReadonlyArray<TrainingExample>
  readonly rows: ReadonlyArray<Int32Array>
  readonly padId: number
}

export const tokenizeExamples = (
  tokenizer: TextTokenizer,
  examples: ReadonlyArray<TrainingExample>,
  maxLength: number
): TokenizedExamples => ({
  examples,
  rows: tokenizer.encodeRows(
    examples.map((example) => example.text),
    { maxLength }
  ).rows,
  padId: tokenizer.padId
})

/** Indices ordered longest row first; equal lengths keep their order. */
export const longestFirst = (indices: ReadonlyArray<number>, rows: ReadonlyArray<Int32Array>): Array<number> =>
  indices
    .map((index, position) => ({ index, position, length: rows[index]?.length ?? 0 }))
    .sort((a, b) => b.length - a.length || a.position - b.position)
    .map(({ index }) => index)

/** One batch: ids, mask and labels of the examples at `indices`, longest first; `tokens` counts real tokens. */
export const batchOf = (data: TokenizedExamples, indices: ReadonlyArray<number>): { readonly inputs: CarlBatch; readonly tokens: number } => {
  const order = longestFirst(indices, data.rows)
  const encoded = padRows(
    order.map((index) => data.rows[index] ?? new Int32Array()),
    data.padId,
    { minimumLength: 1 }
  )
  const labels = new Float32Array(order.length * 2)
  order.forEach((index, i) => {
    labels[i * 2] = data.examples[index]?.valence ?? Number.NaN
    labels[i * 2 + 1] = data.examples[index]?.arousal ?? Number.NaN
  })
  return {
    tokens: encoded.attentionMask.reduce((sum, value) => sum + value, 0),
    inputs: {
      tokenIds: tf.tensor2d(encoded.ids, [encoded.batch, encoded.seqLength], "int32"),
      attentionMask: tf.tensor2d(encoded.attentionMask, [encoded.batch, encoded.seqLength]),
      vaLabels: tf.tensor2d(labels, [order.length, 2])
    }
  }
}
