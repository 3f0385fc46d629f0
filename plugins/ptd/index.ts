import { definePlugin } from "../../core/plugin.ts"
import type { ParameterSet } from "../../core/parameters.ts"
import { Ports } from "../../core/ports.ts"
import { DEFAULT_FOCAL_GAMMA, focalBinaryLoss } from "./focal-loss.ts"
import { tokenHeadLogits } from "./token-head.ts"

export { DEFAULT_FOCAL_GAMMA, focalBinaryLoss } from "./focal-loss.ts"
export { initTokenHead, tokenHeadLogits } from "./token-head.ts"

/**
 * Perturbed token detection (Eq. 10): the token head reads the perturbed sequence's last hidden
 * states and learns, with focal loss over real tokens, which tokens PGD selected.
 */
export const perturbedTokenDetection = (spec: { readonly parameters: ParameterSet; readonly gamma?: number }) =>
  definePlugin({
    name: "ptd",
    needs: [Ports.perturbedHiddenStates, Ports.perturbedMask, Ports.attentionMask],
    gives: [Ports.tokenLogits, Ports.ptdLoss],
    parameters: [spec.parameters],
    run: ({ perturbedHiddenStates, perturbedMask, attentionMask }) => {
      const tokenLogits = tokenHeadLogits(spec.parameters, perturbedHiddenStates)
      const loss = focalBinaryLoss(tokenLogits, perturbedMask, attentionMask, { gamma: spec.gamma ?? DEFAULT_FOCAL_GAMMA })
      return { tokenLogits, "loss.ptd": loss }
    }
  })
