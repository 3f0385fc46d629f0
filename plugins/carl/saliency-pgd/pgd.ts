/**
 * PGD on the selected tokens (Eq. 8–9):
 *   e^(i+1) = Π_B(e,ε)(e^(i) + α·sign(g/‖g‖₂)),  g = ∂L/∂e at e^(i),
 * only for t ∈ S; other tokens keep δ_t = 0. sign(g/‖g‖₂) = sign(g), so the norm is not formed.
 *
 * The first step starts at δ = 0, where g is the saliency gradient already computed: it is
 * reused, not recomputed. Later steps ask the graph for the loss at e + δ.
 */
import { defaultConfig } from "../config.ts"
import * as tf from "@tensorflow/tfjs"
import { projectToEpsBall } from "./eps-ball.ts"

export interface PGDOptions {
  readonly epsilon: number
  /**
   * "absolute": every token's ball has radius ε (the paper's); "relative": radius ε·‖e_t‖, so that
   * the perturbation is the same share of every token's embedding and survives float32 rounding.
   */
  readonly epsilonScale?: "absolute" | "relative"
  readonly alpha: number
  readonly steps: number
}

/** The configuration's (plugins/carl/config.ts: the paper's ε = 5e-9, α = 5; one step). */
export const DEFAULT_PGD_OPTIONS: PGDOptions = defaultConfig().pgd

/**
 * δ after `steps` PGD steps. `gradientAt(e + δ)` gives ∂L/∂e there; it is called only for
 * steps after the first.
 */
export const pgdPerturbation = (
  embeddings: tf.Tensor3D,
  gradientAtStart: tf.Tensor3D,
  selected: tf.Tensor2D,
  gradientAt: (perturbed: tf.Tensor3D) => tf.Tensor3D,
  options: PGDOptions
): tf.Tensor3D =>
  tf.tidy(() => {
    const selection = tf.expandDims(selected, -1)
    const radius = options.epsilonScale === "relative" ? tf.mul(tf.norm(embeddings, "euclidean", -1, true), options.epsilon) : options.epsilon
    let delta = tf.zerosLike(embeddings)
    for (let step = 0; step < options.steps; step++) {
      const gradient = step === 0 ? gradientAtStart : gradientAt(tf.add(embeddings, delta))
      const stepped = tf.add(delta, tf.mul(tf.sign(gradient), options.alpha))
      delta = tf.mul(projectToEpsBall(stepped, radius), selection)
    }
    return delta
  })

/**
 * The largest per-token ‖ẽ_t − e_t‖₂ after ẽ = e + δ is rounded to float32: 0 when ε is below
 * the float32 spacing of the embedding values and the perturbation rounds away.
 */
export const realisedPerturbationNorm = (embeddings: tf.Tensor3D, delta: tf.Tensor3D): tf.Scalar =>
  tf.tidy(() => tf.max(tf.sqrt(tf.sum(tf.square(tf.sub(tf.add(embeddings, delta), embeddings)), -1))) as tf.Scalar)
