/**
 * The input the shipped USE-lite graph model takes: token ids as a sparse matrix, indices [N, 2]
 * of (row, position) in row-major order and values [N]. The caller disposes both tensors.
 */
import * as tf from "@tensorflow/tfjs"

export const graphModelInputs = (rows: ReadonlyArray<ReadonlyArray<number>>): { readonly indices: tf.Tensor2D; readonly values: tf.Tensor1D } => {
  const indices: Array<number> = []
  const values: Array<number> = []
  rows.forEach((row, b) =>
    row.forEach((id, j) => {
      indices.push(b, j)
      values.push(id)
    })
  )
  return { indices: tf.tensor2d(indices, [values.length, 2], "int32"), values: tf.tensor1d(values, "int32") }
}
