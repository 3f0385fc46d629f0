/** Token rows to a model's input: padded to the longest row, with the attention mask. */

/** Row-major [batch, seqLength] arrays, ready for `tf.tensor2d`. */
export interface EncodedBatch {
  readonly ids: Int32Array
  readonly attentionMask: Float32Array
  readonly batch: number
  readonly seqLength: number
  /** How many of the texts lost tokens to `maxLength`. */
  readonly truncated: number
}

/**
 * Rows of ids padded with `padId` to the longest one (at least `minimumLength` positions), 1 in the
 * mask at real tokens.
 */
export const padRows = (rows: ReadonlyArray<Int32Array>, padId: number, options: { readonly truncated?: number; readonly minimumLength?: number } = {}): EncodedBatch => {
  const truncated = options.truncated ?? 0
  const seqLength = Math.max(options.minimumLength ?? 0, ...rows.map((row) => row.length))
  const ids = new Int32Array(rows.length * seqLength).fill(padId)
  const attentionMask = new Float32Array(rows.length * seqLength)
  rows.forEach((row, r) => {
    ids.set(row, r * seqLength)
    attentionMask.fill(1, r * seqLength, r * seqLength + row.length)
  })
  return { ids, attentionMask, batch: rows.length, seqLength, truncated }
}
