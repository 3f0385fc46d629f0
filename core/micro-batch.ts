/**
 * Micro-batches of a batch: which rows each one holds and how many positions of the token axis
 * it keeps. A batch whose rows are sorted by length gives micro-batches of similar rows, and each
 * is cut to its own longest row, so short sentences are not padded to the batch's longest.
 *
 * Only the padding is cut: every position up to a row's last real token is kept, so a row's real
 * tokens see exactly what they saw in the whole batch (attention masks padding anyway). Values a
 * micro-batch gives at the positions it cut are zeros once the batch is put back together.
 */
import * as tf from "@tensorflow/tfjs"

export interface MicroBatch {
  /** First row, in the batch's order. */
  readonly start: number
  readonly rows: number
  /** Positions of the token axis kept: the micro-batch's longest row (at least 1). */
  readonly length: number
}

/**
 * Consecutive micro-batches of `size` rows. `rowLengths[r]` is one past the last real token of row r
 * (from the attention mask); without it every micro-batch keeps the whole token axis `seq`.
 */
export const planMicroBatches = (
  batch: number,
  seq: number,
  size: number,
  rowLengths?: ReadonlyArray<number>
): ReadonlyArray<MicroBatch> => {
  const rowsEach = Math.max(1, Math.floor(size))
  const plan: Array<MicroBatch> = []
  for (let start = 0; start < batch; start += rowsEach) {
    const rows = Math.min(rowsEach, batch - start)
    let length = rowLengths === undefined ? seq : 1
    if (rowLengths !== undefined) for (let r = start; r < start + rows; r++) length = Math.max(length, rowLengths[r] ?? seq)
    plan.push({ start, rows, length: Math.min(length, seq) })
  }
  return plan
}

/** One past the last position whose mask is non-zero, per row of a [batch, seq] mask (0 for an empty row). */
export const rowLengthsOf = (mask: tf.Tensor): ReadonlyArray<number> => {
  const [batch = 0, seq = 0] = mask.shape
  const values = mask.dataSync()
  const lengths: Array<number> = []
  for (let row = 0; row < batch; row++) {
    let last = 0
    for (let t = 0; t < seq; t++) if ((values[row * seq + t] ?? 0) !== 0) last = t + 1
    lengths.push(last)
  }
  return lengths
}

/**
 * The micro-batch's part of a batch-major tensor: its rows, and on a per-token tensor (axis 1 the
 * token axis) its first `length` positions. Scalars are shared by every micro-batch.
 */
export const sliceMicroBatch = (value: tf.Tensor, micro: MicroBatch, perToken: boolean): tf.Tensor => {
  if (value.rank === 0) return value
  const begin = value.shape.map(() => 0)
  const size = value.shape.map(() => -1)
  begin[0] = micro.start
  size[0] = micro.rows
  if (perToken && value.rank >= 2) size[1] = micro.length
  return tf.slice(value, begin, size)
}

/**
 * The batch put back together from its micro-batches' parts, in order: per-token parts padded with
 * zeros to `seq` positions first.
 */
export const assembleMicroBatches = (
  parts: ReadonlyArray<tf.Tensor>,
  plan: ReadonlyArray<MicroBatch>,
  seq: number,
  perToken: boolean
): tf.Tensor =>
  tf.tidy(() => {
    const padded = parts.map((part, index) => {
      const length = plan[index]?.length ?? seq
      if (!perToken || part.rank < 2 || length >= seq) return part
      const padding: Array<[number, number]> = part.shape.map(() => [0, 0])
      padding[1] = [0, seq - length]
      return tf.pad(part, padding)
    })
    return padded.length === 1 ? tf.clone(padded[0] as tf.Tensor) : tf.concat(padded, 0)
  })
