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
import * as tf from "@tensorflow/tfjs"
import { cosineMatrix } from "../../core/cosine-similarity.ts"

export interface MCCLOptions {
  /** τ_sim, applied to the online-vs-target cosine matrix. */
  readonly temperature: number
  /** τ_va, applied to the label cosine matrix. */
  readonly labelTemperature: number
}

export const DEFAULT_MCCL_OPTIONS: MCCLOptions = { temperature: 0.05, labelTemperature: 0.05 }

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
    const { temperature, labelTemperature } = { ...DEFAULT_MCCL_OPTIONS, ...options }
    const similarity = tf.div(cosineMatrix(zOnline, zTarget), temperature) as tf.Tensor2D
    const labels = tf.div(cosineMatrix(va, va), labelTemperature) as tf.Tensor2D
    return symmetricSoftmaxCrossEntropy(similarity, labels)
  })
