/**
 * Momentum continuous label contrastive learning (MCCL), Eqs. 3–6 of the CARL paper.
 *
 *   I_sim[i,j] = cos(p_i, z_j)                       (Eq. 3)  p: online prediction, z: target projection
 *   I_va[i,j]  = cos((v_i, a_i), (v_j, a_j))          (Eq. 4)
 *   P_x[i,:]   = softmax(I_x[i,:] / τ_x)              (Eq. 5)  τ_sim = τ_va = 0.05 by default
 *   L = −(1/N) Σ_i Σ_j [P_sim·log P_va + P_va·log P_sim]   (Eq. 6)
 *
 * Labels carry no gradient.
 */
import { defaultConfig } from "../config.ts"
import * as tf from "@tensorflow/tfjs"
import { cosineMatrix } from "../../../core/cosine-similarity.ts"

export interface MCCLOptions {
  /** τ_sim, applied to the online-vs-target cosine matrix. */
  readonly temperature: number
  /** τ_va, applied to the label cosine matrix. */
  readonly labelTemperature: number
  /**
   * I_va: "cosine" (Eq. 4), "centered-cosine" (the labels less the batch's mean first), or "rbf",
   * exp(−‖y_i − y_j‖²/(2σ²)) with σ = labelBandwidth. Not the paper's but the first.
   */
  readonly labelSimilarity: "cosine" | "centered-cosine" | "rbf"
  readonly labelBandwidth: number
  /** Leave out each sentence's pair with itself (I[i,i]) from both softmaxes. */
  readonly maskDiagonal: boolean
}

/** The configuration's (plugins/carl/config.ts: the paper's, τ = 0.05 for both). */
export const DEFAULT_MCCL_OPTIONS: MCCLOptions = defaultConfig().mccl

/** Large enough that exp() of it is 0 in float32; finite, so that 0·log 0 stays 0 rather than NaN. */
const LEFT_OUT = -1e9

/** I_va [N, N] of the labels [N, 2]. */
export const labelSimilarity = (va: tf.Tensor2D, options: Pick<MCCLOptions, "labelSimilarity" | "labelBandwidth">): tf.Tensor2D =>
  tf.tidy(() => {
    if (options.labelSimilarity === "cosine") return cosineMatrix(va, va)
    if (options.labelSimilarity === "centered-cosine") {
      const centred = tf.sub(va, tf.mean(va, 0, true)) as tf.Tensor2D
      return cosineMatrix(centred, centred)
    }
    const squared = tf.sum(tf.square(va), 1, true)
    const distances = tf.maximum(tf.sub(tf.add(squared, tf.transpose(squared)), tf.mul(tf.matMul(va, va, false, true), 2)), 0)
    return tf.exp(tf.div(distances, -2 * options.labelBandwidth ** 2)) as tf.Tensor2D
  })

/**
 * −(1/N)·Σ_ij [softmax(A)·log softmax(B) + softmax(B)·log softmax(A)], row-wise softmaxes of two
 * [N, N] logit matrices. Symmetric in A and B by construction (Eq. 6).
 */
export const symmetricSoftmaxCrossEntropy = (logitsA: tf.Tensor2D, logitsB: tf.Tensor2D): tf.Scalar =>
  tf.tidy(() => {
    const logA = tf.logSoftmax(logitsA, 1)
    const logB = tf.logSoftmax(logitsB, 1)
    const crossTerms = tf.add(tf.sum(tf.mul(tf.exp(logA), logB)), tf.sum(tf.mul(tf.exp(logB), logA)))
    return tf.div(tf.neg(crossTerms), logitsA.shape[0]) as tf.Scalar
  })

export const mcclLoss = (
  zOnline: tf.Tensor2D,
  zTarget: tf.Tensor2D,
  va: tf.Tensor2D,
  options: Partial<MCCLOptions> = {}
): tf.Scalar =>
  tf.tidy(() => {
    const resolved = { ...DEFAULT_MCCL_OPTIONS, ...options }
    const similarity = tf.div(cosineMatrix(zOnline, zTarget), resolved.temperature) as tf.Tensor2D
    const labels = tf.div(labelSimilarity(va, resolved), resolved.labelTemperature) as tf.Tensor2D
    if (!resolved.maskDiagonal) return symmetricSoftmaxCrossEntropy(similarity, labels)
    const diagonal = tf.mul(tf.eye(va.shape[0]), LEFT_OUT)
    return symmetricSoftmaxCrossEntropy(tf.add(similarity, diagonal) as tf.Tensor2D, tf.add(labels, diagonal) as tf.Tensor2D)
  })

/**
 * What the identity shortcut is worth on a batch (for the logs, not trained on): the mean of the
 * diagonal of P_sim and of P_va (how much of each row's mass a sentence puts on itself), and the
 * loss with every sentence's pair with itself left out.
 */
export const mcclDiagnostics = (
  zOnline: tf.Tensor2D,
  zTarget: tf.Tensor2D,
  va: tf.Tensor2D,
  options: Partial<MCCLOptions> = {}
): { readonly diagonalShare: tf.Scalar; readonly labelDiagonalShare: tf.Scalar; readonly offDiagonalLoss: tf.Scalar } => {
  const resolved = { ...DEFAULT_MCCL_OPTIONS, ...options }
  return tf.tidy(() => {
    const similarity = tf.div(cosineMatrix(zOnline, zTarget), resolved.temperature) as tf.Tensor2D
    const labels = tf.div(labelSimilarity(va, resolved), resolved.labelTemperature) as tf.Tensor2D
    const eye = tf.eye(va.shape[0])
    const diagonalMean = (logits: tf.Tensor2D) => tf.div(tf.sum(tf.mul(tf.softmax(logits, 1), eye)), va.shape[0]) as tf.Scalar
    const masked = tf.mul(eye, LEFT_OUT)
    return {
      diagonalShare: diagonalMean(similarity),
      labelDiagonalShare: diagonalMean(labels),
      offDiagonalLoss: symmetricSoftmaxCrossEntropy(tf.add(similarity, masked) as tf.Tensor2D, tf.add(labels, masked) as tf.Tensor2D)
    }
  })
}
