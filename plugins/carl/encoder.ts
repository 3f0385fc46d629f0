/**
 * Any Encoder as graph plugins: word embeddings, the transformer, and pooling are three nodes,
 * so saliency and PGD (Eqs. 7–9) can read and replace the word embeddings between them. All three
 * are row-wise (each sentence is encoded on its own), so a big batch can run in micro-batches.
 */
import { seededDropout, type DropoutRates } from "../../core/dropout.ts"
import { definePlugin, withPorts } from "../../core/plugin.ts"
import { definePort } from "../../core/ports.ts"
import { Ports } from "./ports.ts"
import type { Encoder, Pooling } from "../encoders/encoder.ts"


export const embedTokens = (encoder: Encoder, name = "embed-tokens") =>
  definePlugin({
    name,
    needs: [Ports.tokenIds],
    gives: [Ports.tokenEmbeddings],
    parameters: [encoder.parameters],
    rowWise: true,
    run: ({ tokenIds }) => ({ tokenEmbeddings: encoder.embedTokens(tokenIds) })
  })

/**
 * Dropout for one forward pass of an encoder in training: its rates, and a seed and stream number
 * that, with the step and the micro-batch's first row, seed its masks (core/dropout.ts).
 */
export interface EncoderDropout {
  readonly rates: DropoutRates
  readonly seed: number
  readonly stream: number
}

export const encode = (encoder: Encoder, name = "encode", dropout?: EncoderDropout) =>
  definePlugin({
    name,
    needs: [Ports.tokenEmbeddings, Ports.tokenIds, Ports.attentionMask],
    gives: [Ports.hiddenStates],
    parameters: [encoder.parameters],
    rowWise: true,
    run: ({ tokenEmbeddings, tokenIds, attentionMask }, context) => {
      const on = dropout !== undefined && context.training && (dropout.rates.hidden > 0 || dropout.rates.attention > 0)
      const noise = on ? seededDropout(dropout.rates, [dropout.seed, dropout.stream, context.step, context.rows?.start ?? 0]) : undefined
      return { hiddenStates: encoder.encode(tokenEmbeddings, tokenIds, attentionMask, noise) }
    }
  })

export const pool = (encoder: Encoder, pooling: Pooling, name = `pool-${pooling}`) =>
  definePlugin({
    name,
    needs: [Ports.hiddenStates, Ports.attentionMask],
    gives: [Ports.sentenceEmbedding],
    parameters: [encoder.parameters],
    rowWise: true,
    run: ({ hiddenStates, attentionMask }) => ({ sentenceEmbedding: encoder.pool(hiddenStates, attentionMask, pooling) })
  })

export const targetTokenEmbeddings = definePort(
  "targetTokenEmbeddings",
  3,
  "float32",
  "[batch, seq, hidden] word embeddings of the target encoder",
  { perToken: true }
)

/** The momentum target's forward: the same three nodes on the target's own weights and ports. */
export const targetEncoderPlugins = (target: Encoder, pooling: Pooling, dropout?: EncoderDropout) =>
  [
    withPorts(embedTokens(target), { tokenEmbeddings: targetTokenEmbeddings }, "target-embed-tokens"),
    withPorts(
      encode(target, "encode", dropout),
      { tokenEmbeddings: targetTokenEmbeddings, hiddenStates: Ports.targetHiddenStates },
      "target-encode"
    ),
    withPorts(
      pool(target, pooling),
      { hiddenStates: Ports.targetHiddenStates, sentenceEmbedding: Ports.targetSentenceEmbedding },
      "target-pool"
    )
  ] as const
