/**
 * A padded batch's real tokens as one [tokens, width] matrix, and back. A transformer's dense
 * layers, layer norms and residual sums act on each token alone, so they can run on the real
 * tokens only; only attention needs the [batch, seq] layout. On short-sentence corpora most of a
 * padded batch is padding (EmoBank in batches of 128: about 70% of the positions), and the dense
 * layers are most of a step's arithmetic.
 *
 * Both directions are row gathers, each the other's gradient, so they differentiate on every
 * backend (tf.gather's own gradient, UnsortedSegmentSum, is not registered on wasm). Unpacking
 * fills the padding with zeros. The row indices are plain arrays, made into tensors where a gather
 * needs them, so a packing holds no tensor and outlives the tidy scope of the forward pass that
 * its gradients run after.
 */
import * as tf from "@tensorflow/tfjs"

export interface TokenPacking {
  /** [batch, seq, width] → [tokens, width]: the real tokens, in row-major order. */
  readonly pack: (x: tf.Tensor3D) => tf.Tensor2D
  /** [tokens, width] → [batch, seq, width], zeros at padding. */
  readonly unpack: (y: tf.Tensor2D) => tf.Tensor3D
}

const gatherRows = (x: tf.Tensor2D, rows: Int32Array): tf.Tensor2D => tf.tidy(() => tf.gather(x, tf.tensor1d(rows, "int32")))

/** An op whose gradient is `backward` applied to the upstream gradient (both linear maps). */
const linearOp = (forward: (x: tf.Tensor2D) => tf.Tensor2D, backward: (dy: tf.Tensor2D) => tf.Tensor2D) =>
  tf.customGrad((x) => ({ value: forward(x as tf.Tensor2D), gradFunc: (dy: tf.Tensor) => backward(dy as tf.Tensor2D) }))

/** The packing of a [batch, seq] mask (1 at real tokens), read once from the mask's values. */
export const tokenPacking = (mask: tf.Tensor2D): TokenPacking => {
  const [batch, seq] = mask.shape
  const values = mask.dataSync()
  const real: Array<number> = []
  values.forEach((value, position) => {
    if (value > 0) real.push(position)
  })
  // realRows[i]: the flattened position of packed row i. slots[p]: the packed row at position p,
  // or `tokens`, the zero row unpacking appends, at padding.
  const realRows = Int32Array.from(real)
  const slots = new Int32Array(batch * seq).fill(realRows.length)
  realRows.forEach((position, row) => {
    slots[position] = row
  })
  const packRows = (x: tf.Tensor2D) => gatherRows(x, realRows)
  const unpackRows = (y: tf.Tensor2D) => tf.tidy(() => gatherRows(tf.concat([y, tf.zeros([1, y.shape[1]])], 0), slots))
  const pack = linearOp(packRows, unpackRows)
  const unpack = linearOp(unpackRows, packRows)
  return {
    pack: (x) => tf.tidy(() => pack(tf.reshape(x, [batch * seq, x.shape[2]])) as tf.Tensor2D),
    unpack: (y) => tf.tidy(() => tf.reshape(unpack(y), [batch, seq, y.shape[1]]) as tf.Tensor3D)
  }
}
