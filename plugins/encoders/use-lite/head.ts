/**
 * USE's sentence head (ARCHITECTURE.md §3.8–3.9): the plain mean of the last hidden states over
 * real tokens (sum / max(len, 1), no √len), dense 512 → 512, tanh, then
 * x · rsqrt(max(Σx², 1e-12)), so every sentence vector has unit length.
 */
import * as tf from "@tensorflow/tfjs"
import { dense } from "../../../core/dense.ts"
import type { ParameterSet } from "../../../core/parameters.ts"
import type { Pooling } from "../encoder.ts"
import { meanOverRealTokens } from "../pooling.ts"
import { USE_LITE_L2_FLOOR } from "./config.ts"
import { clipToMaxLength } from "./forward.ts"

export const sentenceHead = (parameters: ParameterSet, meanHidden: tf.Tensor2D): tf.Tensor2D =>
  tf.tidy(() => {
    const h = tf.tanh(dense(meanHidden, parameters.get("head.weight") as tf.Tensor2D, parameters.get("head.bias") as tf.Tensor1D))
    return tf.mul(h, tf.rsqrt(tf.maximum(tf.sum(tf.square(h), -1, true), USE_LITE_L2_FLOOR))) as tf.Tensor2D
  })

/** "cls" and "pooler" are USE's own sentence vector (USE has no first-token pooler); "mean" stops before the head. */
export const poolUseLite = (
  parameters: ParameterSet,
  hiddenStates: tf.Tensor3D,
  attentionMask: tf.Tensor2D,
  pooling: Pooling
): tf.Tensor2D =>
  tf.tidy(() => {
    const mean = meanOverRealTokens(hiddenStates, clipToMaxLength(attentionMask))
    return pooling === "mean" ? mean : sentenceHead(parameters, mean)
  })
