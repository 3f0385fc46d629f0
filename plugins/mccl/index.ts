import { definePlugin } from "../../core/plugin.ts"
import { Ports } from "../../core/ports.ts"
import { DEFAULT_MCCL_OPTIONS, mcclLoss, type MCCLOptions } from "./mccl-loss.ts"

export { DEFAULT_MCCL_OPTIONS, mcclLoss, symmetricSoftmaxCrossEntropy, type MCCLOptions } from "./mccl-loss.ts"

/** MCCL (Eqs. 3–6): online predictions against target projections, pulled toward the label geometry. */
export const mccl = (options: Partial<MCCLOptions> = {}) => {
  const resolved = { ...DEFAULT_MCCL_OPTIONS, ...options }
  return definePlugin({
    name: "mccl",
    needs: [Ports.onlinePrediction, Ports.targetEmbedding, Ports.vaLabels],
    gives: [Ports.mcclLoss],
    run: ({ onlinePrediction, targetEmbedding, vaLabels }) => ({
      "loss.mccl": mcclLoss(onlinePrediction, targetEmbedding, vaLabels, resolved)
    })
  })
}
