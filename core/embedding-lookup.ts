/**
 * Rows of an embedding table by id, with a gradient that runs on every backend: tf.gather's
 * own gradient is UnsortedSegmentSum, which the wasm backend does not register. Here the
 * gradient is a scatter-add (ScatterNd sums rows for repeated ids), registered everywhere.
 */
import * as tf from "@tensorflow/tfjs"

const lookupRows = tf.customGrad((table, ids, save) => {
  const weights = table as tf.Tensor2D
  const flatIds = ids as tf.Tensor1D
  ;(save as tf.GradSaveFunc)([flatIds])
  return {
    value: tf.gather(weights, flatIds),
    gradFunc: (dy: tf.Tensor, saved: Array<tf.Tensor>) => {
      const [savedIds] = saved as [tf.Tensor1D]
      const rowGradients = tf.scatterND(tf.expandDims(savedIds, 1), dy, weights.shape)
      return [rowGradients, tf.zerosLike(savedIds)]
    }
  }
})

/** table [vocab, hidden], ids int32 of any shape → [...ids.shape, hidden]. */
export const embeddingLookup = (table: tf.Tensor2D, ids: tf.Tensor): tf.Tensor =>
  tf.tidy(() => {
    const rows = lookupRows(table, tf.reshape(ids, [-1]))
    return tf.reshape(rows, [...ids.shape, table.shape[1]])
  })
