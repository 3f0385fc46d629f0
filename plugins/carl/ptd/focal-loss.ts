/**
 * Focal binary loss for perturbed token detection (Eq. 10):
 *   FL = −(1 − p_t)^γ·log p_t,  p_t = σ(x) for targets 1 and 1 − σ(x) for targets 0,
 * averaged over real tokens. Written on logits: with s = (2y − 1)·x,
 *   log p_t = −softplus(−s)   and   (1 − p_t)^γ = exp(−γ·softplus(s)),
 * finite for any finite logit; at γ = 0 it is binary cross-entropy.
 */
import { defaultConfig } from "../config.ts"
import * as tf from "@tensorflow/tfjs"

/** The configuration's γ (plugins/carl/config.ts). */
export const DEFAULT_FOCAL_GAMMA = defaultConfig().ptd.gamma

export const focalBinaryLoss = (
  logits: tf.Tensor,
  targets: tf.Tensor,
  mask: tf.Tensor,
  options: { readonly gamma?: number } = {}
): tf.Scalar =>
  tf.tidy(() => {
    const gamma = options.gamma ?? DEFAULT_FOCAL_GAMMA
    const signed = tf.mul(tf.sub(tf.mul(targets, 2), 1), logits)
    const negLogPt = tf.softplus(tf.neg(signed))
    const perToken = gamma === 0 ? negLogPt : tf.mul(tf.exp(tf.mul(tf.softplus(signed), -gamma)), negLogPt)
    return tf.div(tf.sum(tf.mul(perToken, mask)), tf.maximum(tf.sum(mask), 1)) as tf.Scalar
  })
