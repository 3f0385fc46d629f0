import { definePlugin } from "../../../core/plugin.ts"
import type { ParameterSet } from "../../../core/parameters.ts"
import { Ports } from "../ports.ts"
import { DEFAULT_FOCAL_GAMMA, focalBinaryLoss } from "./focal-loss.ts"
import { tokenHeadLogits } from "./token-head.ts"

export { DEFAULT_FOCAL_GAMMA, focalBinaryLoss } from "./focal-loss.ts"
export { initTokenHead, tokenHeadLogits } from "./token-head.ts"

/**
 * The token head of perturbed token detection (Eq. 10) on the perturbed sequence's last hidden
 * states: one logit per token. Row-wise, so it runs with the encoder in micro-batches.
 */
export const tokenHead = (parameters: ParameterSet) =>
  definePlugin({
    name: "token-head",
    needs: [Ports.perturbedHiddenStates],
    gives: [Ports.tokenLogits],
    parameters: [parameters],
    rowWise: true,
    run: ({ perturbedHiddenStates }) => ({ tokenLogits: tokenHeadLogits(parameters, perturbedHiddenStates) })
  })

/**
 * Perturbed token detection's loss (Eq. 10): the token logits learn, with focal loss averaged over
 * the batch's real tokens, which tokens PGD selected.
 */
export const perturbedTokenDetection = (options: { readonly gamma?: number } = {}) =>
  definePlugin({
    name: "ptd",
    needs: [Ports.tokenLogits, Ports.perturbedMask, Ports.attentionMask],
    gives: [Ports.ptdLoss],
    run: ({ tokenLogits, perturbedMask, attentionMask }) => ({
      "loss.ptd": focalBinaryLoss(tokenLogits, perturbedMask, attentionMask, { gamma: options.gamma ?? DEFAULT_FOCAL_GAMMA })
    })
  })
