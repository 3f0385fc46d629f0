/**
 * Gradient saliency (Eq. 7): g_t = ‖∂L/∂e_t‖₂ for each token's input word embedding, L the MCCL
 * loss, taken from the same backward pass that trains MCCL. Only real tokens compete: the top
 * ⌈fraction·n_real⌉ of each sentence, at least one, are selected for perturbation.
 */
import * as tf from "@tensorflow/tfjs"

/** [batch, seq] per-token gradient norms; padding gets −1 so it never ranks above a real token. */
export const tokenSaliency = (gradient: tf.Tensor3D, attentionMask: tf.Tensor2D): tf.Tensor2D =>
  tf.tidy(() => {
    const norms = tf.sqrt(tf.sum(tf.square(gradient), -1)) as tf.Tensor2D
    return tf.sub(tf.mul(tf.add(norms, 1), attentionMask), 1) as tf.Tensor2D
  })

/**
 * [batch, seq] 1 for the selected tokens. Ties go to the earlier token, so the choice is the
 * same on every backend. A discrete choice: it is computed on the host from a [batch, seq] array.
 */
export const selectTopTokens = (saliency: tf.Tensor2D, attentionMask: tf.Tensor2D, fraction: number): tf.Tensor2D => {
  const [batch, seq] = saliency.shape
  const scores = saliency.dataSync()
  const mask = attentionMask.dataSync()
  const selected = new Float32Array(batch * seq)
  for (let row = 0; row < batch; row++) {
    const real: Array<number> = []
    for (let t = 0; t < seq; t++) if ((mask[row * seq + t] ?? 0) > 0) real.push(t)
    if (real.length === 0) continue
    const k = Math.max(1, Math.ceil(fraction * real.length - 1e-9))
    real.sort((a, b) => (scores[row * seq + b] ?? 0) - (scores[row * seq + a] ?? 0) || a - b)
    for (const t of real.slice(0, k)) selected[row * seq + t] = 1
  }
  return tf.tensor2d(selected, [batch, seq])
}
