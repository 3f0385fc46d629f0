/**
 * A padded batch's real tokens as one [tokens, width] matrix, and back. A transformer's dense
 * layers, layer norms and residual sums act on each token alone, so they can run on the real
 * tokens only; only attention needs the [batch, seq] layout. On short-sentence corpora most of a
 * padded batch is padding (EmoBank in batches of 128: about 70% of the positions), and the dense
 * layers are most of a step's arithmetic.
 *
 * Both directions are row gathers, each the other's gradient, so they differentiate on every
 * backend (tf.gather's own gradient, UnsortedSegmentSum, is not registered on wasm). Unpacking
 * fills the padding with zeros.
 */
import * as tf from "@tensorflow/tfjs"

export interface TokenPacking {
  readonly batch: number
  readonly seq: number
  /** How many real tokens (the packed rows). */
  readonly tokens: number
  /** For each packed row, its row in the flattened [batch·seq] layout. */
  readonly realRows: tf.Tensor1D
  /** For each of the batch·seq positions, its packed row, or `tokens` (a row of zeros) at padding. */
  readonly slots: tf.Tensor1D
}

/** The packing of a [batch, seq] mask (1 at real tokens). Read once from the mask's values. */
export const tokenPacking = (mask: tf.Tensor2D): TokenPacking => {
  const [batch, seq] = mask.shape
  const values = mask.dataSync()
  const realRows: Array<number> = []
  const slots = new Int32Array(batch * seq)
  for (let position = 0; position < values.length; position++) {
    if ((values[position] ?? 0) > 0) {
      slots[position] = realRows.length
      realRows.push(position)
    } else {
      slots[position] = -1
    }
  }
  const tokens = realRows.length
  for (let position = 0; position < slots.length; position++) if (slots[position] === -1) slots[position] = tokens
  return { batch, seq, tokens, realRows: tf.tensor1d(realRows, "int32"), slots: tf.tensor1d(slots, "int32") }
}

const gatherRows = (x: tf.Tensor2D, rows: tf.Tensor1D): tf.Tensor2D => tf.gather(x, rows)

/** [batch·seq, width] → [tokens, width]; gradient: scatter back, zeros at padding. */
const packRows = tf.customGrad((x, realRows, slots, save) => {
  ;(save as tf.GradSaveFunc)([realRows as tf.Tensor1D, slots as tf.Tensor1D])
  return {
    value: gatherRows(x as tf.Tensor2D, realRows as tf.Tensor1D),
    gradFunc: (dy: tf.Tensor, saved: Array<tf.Tensor>) => {
      const [savedRows, savedSlots] = saved as [tf.Tensor1D, tf.Tensor1D]
      return [unpackRowsValue(dy as tf.Tensor2D, savedSlots), tf.zerosLike(savedRows), tf.zerosLike(savedSlots)]
    }
  }
})

const unpackRowsValue = (y: tf.Tensor2D, slots: tf.Tensor1D): tf.Tensor2D =>
  tf.tidy(() => gatherRows(tf.concat([y, tf.zeros([1, y.shape[1]])], 0), slots))

/** [tokens, width] → [batch·seq, width] with zeros at padding; gradient: the real rows again. */
const unpackRows = tf.customGrad((y, realRows, slots, save) => {
  ;(save as tf.GradSaveFunc)([realRows as tf.Tensor1D, slots as tf.Tensor1D])
  return {
    value: unpackRowsValue(y as tf.Tensor2D, slots as tf.Tensor1D),
    gradFunc: (dy: tf.Tensor, saved: Array<tf.Tensor>) => {
      const [savedRows, savedSlots] = saved as [tf.Tensor1D, tf.Tensor1D]
      return [gatherRows(dy as tf.Tensor2D, savedRows), tf.zerosLike(savedRows), tf.zerosLike(savedSlots)]
    }
  }
})

/** [batch, seq, width] → [tokens, width]: the real tokens, in row-major order. */
export const packTokens = (x: tf.Tensor3D, packing: TokenPacking): tf.Tensor2D =>
  tf.tidy(() => packRows(tf.reshape(x, [packing.batch * packing.seq, x.shape[2]]), packing.realRows, packing.slots) as tf.Tensor2D)

/** [tokens, width] → [batch, seq, width], zeros at padding. */
export const unpackTokens = (y: tf.Tensor2D, packing: TokenPacking): tf.Tensor3D =>
  tf.tidy(() => tf.reshape(unpackRows(y, packing.realRows, packing.slots), [packing.batch, packing.seq, y.shape[1]]) as tf.Tensor3D)
