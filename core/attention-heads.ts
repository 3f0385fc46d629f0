import * as tf from "@tensorflow/tfjs"

/** [batch, seq, width] → [batch, heads, seq, width / heads]: head h takes channels h·dₕ … (h+1)·dₕ − 1. */
export const splitHeads = (x: tf.Tensor3D, heads: number): tf.Tensor4D => {
  const [batch, seq, width] = x.shape
  return tf.transpose(tf.reshape(x, [batch, seq, heads, width / heads]), [0, 2, 1, 3])
}
