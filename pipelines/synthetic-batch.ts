/**
 * A random batch shaped like real text: ragged lengths, [CLS] first, padding after, valence and
 * arousal in [−1, 1] with one neutral (0, 0) sample. For smoke runs and benches.
 */
import * as tf from "@tensorflow/tfjs"
import type { SeededRandom } from "../core/random.ts"
import type { CarlBatch } from "./carl-graph.ts"

export const CLS_TOKEN_ID = 101

export const syntheticBatch = (
  random: SeededRandom,
  shape: { readonly batchSize: number; readonly seqLength: number; readonly vocabSize: number }
): CarlBatch => {
  const { batchSize, seqLength, vocabSize } = shape
  const ids = new Int32Array(batchSize * seqLength)
  const mask = new Float32Array(batchSize * seqLength)
  const labels = new Float32Array(batchSize * 2)
  for (let row = 0; row < batchSize; row++) {
    const length = Math.max(2, seqLength - random.int(Math.ceil(seqLength / 2)))
    for (let t = 0; t < length; t++) {
      ids[row * seqLength + t] = t === 0 ? CLS_TOKEN_ID % vocabSize : 1 + random.int(vocabSize - 1)
      mask[row * seqLength + t] = 1
    }
    const neutral = row === batchSize - 1
    labels[row * 2] = neutral ? 0 : random.next() * 2 - 1
    labels[row * 2 + 1] = neutral ? 0 : random.next() * 2 - 1
  }
  return {
    tokenIds: tf.tensor2d(ids, [batchSize, seqLength], "int32"),
    attentionMask: tf.tensor2d(mask, [batchSize, seqLength]),
    vaLabels: tf.tensor2d(labels, [batchSize, 2])
  }
}

export const disposeBatch = (batch: CarlBatch): void => {
  batch.tokenIds.dispose()
  batch.attentionMask.dispose()
  batch.vaLabels.dispose()
}
