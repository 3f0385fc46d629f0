import * as tf from "@tensorflow/tfjs"
import { definePlugin } from "../../../core/plugin.ts"
import { stopGradient } from "../../../core/stop-gradient.ts"
import { definePort } from "../../../core/ports.ts"
import { Ports } from "../ports.ts"
import { DEFAULT_MCCL_OPTIONS, mcclDiagnostics, mcclLoss, type MCCLOptions } from "./mccl-loss.ts"

export { DEFAULT_MCCL_OPTIONS, labelSimilarity, mcclDiagnostics, mcclLoss, symmetricSoftmaxCrossEntropy, type MCCLOptions } from "./mccl-loss.ts"

/** Logged with every step: how much the identity shortcut is worth (mcclDiagnostics). */
export const MCCL_DIAGNOSTIC_PORTS = {
  diagonalShare: definePort("mccl.diagonalShare", 0, "float32", "mean of P_sim's diagonal", { constant: true }),
  labelDiagonalShare: definePort("mccl.labelDiagonalShare", 0, "float32", "mean of P_va's diagonal", { constant: true }),
  offDiagonalLoss: definePort("mccl.offDiagonalLoss", 0, "float32", "L_MCCL without each sentence's pair with itself", { constant: true })
} as const

/** MCCL (Eqs. 3–6): online predictions against target projections, pulled toward the label geometry. */
export const mccl = (options: Partial<MCCLOptions> = {}) => {
  const resolved = { ...DEFAULT_MCCL_OPTIONS, ...options }
  return definePlugin({
    name: "mccl",
    needs: [Ports.onlinePrediction, Ports.targetEmbedding, Ports.vaLabels],
    gives: [Ports.mcclLoss, MCCL_DIAGNOSTIC_PORTS.diagonalShare, MCCL_DIAGNOSTIC_PORTS.labelDiagonalShare, MCCL_DIAGNOSTIC_PORTS.offDiagonalLoss],
    run: ({ onlinePrediction, targetEmbedding, vaLabels }) => {
      // Diagnostics carry no gradient: computed from values the tape does not see.
      const diagnostics = tf.tidy(() => mcclDiagnostics(stopGradient(onlinePrediction), stopGradient(targetEmbedding), vaLabels, resolved))
      return {
        "loss.mccl": mcclLoss(onlinePrediction, targetEmbedding, vaLabels, resolved),
        "mccl.diagonalShare": diagnostics.diagonalShare,
        "mccl.labelDiagonalShare": diagnostics.labelDiagonalShare,
        "mccl.offDiagonalLoss": diagnostics.offDiagonalLoss
      }
    }
  })
}
