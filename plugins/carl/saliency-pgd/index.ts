/**
 * Saliency-guided PGD (Eqs. 7–9) as three plugins:
 *   saliencySelection: ∂L_MCCL/∂e → saliency, perturbedMask   (Eq. 7, top 10% per sentence)
 *   pgd:               e, ∂L_MCCL/∂e, perturbedMask → δ        (Eqs. 8–9)
 *   perturbEmbeddings: e, δ → ẽ = e + δ                        (fed to the encoder again for PTD)
 */
import { defaultConfig } from "../config.ts"
import * as tf from "@tensorflow/tfjs"
import { definePlugin } from "../../../core/plugin.ts"
import { gradientPort } from "../../../core/ports.ts"
import { Ports } from "../ports.ts"
import { DEFAULT_PGD_OPTIONS, pgdPerturbation, realisedPerturbationNorm, type PGDOptions } from "./pgd.ts"
import { selectTopTokens, tokenSaliency } from "./saliency.ts"

export { projectToEpsBall } from "./eps-ball.ts"
export { DEFAULT_PGD_OPTIONS, pgdPerturbation, realisedPerturbationNorm, type PGDOptions } from "./pgd.ts"
export { selectTopTokens, tokenSaliency } from "./saliency.ts"

/** ∂L_MCCL/∂e_t: the gradient Eqs. 7–8 read. */
export const mcclEmbeddingGradient = gradientPort(Ports.mcclLoss, Ports.tokenEmbeddings)

/** The configuration's share of tokens (plugins/carl/config.ts). */
export const DEFAULT_TOP_FRACTION = defaultConfig().saliency.topFraction

export const saliencySelection = (topFraction = DEFAULT_TOP_FRACTION) =>
  definePlugin({
    name: "saliency",
    needs: [mcclEmbeddingGradient, Ports.attentionMask],
    gives: [Ports.saliency, Ports.perturbedMask],
    run: (inputs) => {
      const saliency = tokenSaliency(inputs["∂loss.mccl/∂tokenEmbeddings"], inputs.attentionMask)
      return { saliency, perturbedMask: selectTopTokens(saliency, inputs.attentionMask, topFraction) }
    }
  })

/**
 * ε = 5e-9 (the paper's) is near the float32 spacing of embedding values, so e + δ may round
 * back to e. Said once per run, with what was realised.
 */
const reportRounding = (realised: number, epsilon: number, relative: boolean, warnOnce: (key: string, message: string) => void) => {
  if (epsilon === 0) return
  if (realised === 0) {
    warnOnce(
      "pgd-vanished",
      `PGD perturbation vanished: with epsilon ${epsilon} every e_t + δ_t rounds back to e_t in float32, ` +
        "so the perturbed sequence equals the clean one; PTD still learns to find the salient tokens. Raise pgd.epsilon to perturb them."
    )
  } else if (!relative && realised < 0.5 * epsilon) {
    warnOnce(
      "pgd-rounded",
      `PGD perturbation mostly rounded away in float32: largest realised ‖ẽ_t − e_t‖ is ${realised.toPrecision(3)} for epsilon ${epsilon}.`
    )
  }
}

export const pgd = (options: Partial<PGDOptions> = {}) => {
  const resolved = { ...DEFAULT_PGD_OPTIONS, ...options }
  return definePlugin({
    name: "pgd",
    needs: [Ports.tokenEmbeddings, mcclEmbeddingGradient, Ports.perturbedMask],
    gives: [Ports.perturbation, Ports.perturbationNorm],
    run: (inputs, context) => {
      const gradientAt = (perturbed: tf.Tensor3D) =>
        context.gradient(Ports.mcclLoss.name, Ports.tokenEmbeddings.name, perturbed) as tf.Tensor3D
      const perturbation = pgdPerturbation(
        inputs.tokenEmbeddings,
        inputs["∂loss.mccl/∂tokenEmbeddings"],
        inputs.perturbedMask,
        gradientAt,
        resolved
      )
      const perturbationNorm = realisedPerturbationNorm(inputs.tokenEmbeddings, perturbation)
      reportRounding(perturbationNorm.dataSync()[0] ?? 0, resolved.epsilon, resolved.epsilonScale === "relative", context.warnOnce)
      return { perturbation, perturbationNorm }
    }
  })
}

export const perturbEmbeddings = definePlugin({
  name: "perturb-embeddings",
  needs: [Ports.tokenEmbeddings, Ports.perturbation],
  gives: [Ports.perturbedEmbeddings],
  rowWise: true,
  run: ({ tokenEmbeddings, perturbation }) => ({ perturbedEmbeddings: tf.add(tokenEmbeddings, perturbation) as tf.Tensor3D })
})
