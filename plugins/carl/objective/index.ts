/**
 * The objective (Eq. 11): L = Σ_k λ_k·L_k over the graph's loss ports; CARL's is
 * 0.8·L_MCCL + 0.2·L_PTD. A new head adds a `loss.<name>` port and a weight here.
 */
import { defaultConfig } from "../config.ts"
import * as tf from "@tensorflow/tfjs"
import { definePlugin } from "../../../core/plugin.ts"
import { definePort, type LossPortName, type Port } from "../../../core/ports.ts"
import { Ports } from "../ports.ts"

/** The configuration's λ₁ and λ₂ (plugins/carl/config.ts: the paper's 0.8 and 0.2). */
export const DEFAULT_LOSS_WEIGHTS = { "loss.mccl": defaultConfig().objective.mccl, "loss.ptd": defaultConfig().objective.ptd } as const

export const objective = <const Weights extends { readonly [K in LossPortName]?: number }>(weights: Weights) => {
  const entries = Object.entries(weights).filter((entry): entry is [LossPortName, number] => entry[1] !== undefined)
  for (const [port, weight] of entries) {
    if (!Number.isFinite(weight) || weight < 0) throw new Error(`objective: weight of ${port} must be a finite number ≥ 0, got ${weight}`)
  }
  const needs = entries.map(([port]) => definePort(port, 0, "float32", "a loss"))
  return definePlugin({
    name: "objective",
    needs: needs as unknown as ReadonlyArray<{ [K in keyof Weights & string]: Port<K, 0> }[keyof Weights & string]>,
    gives: [Ports.objective],
    lossWeights: new Map(entries),
    run: (inputs) => ({
      objective: tf.tidy(() => tf.addN(entries.map(([port, weight]) => tf.mul((inputs as Record<string, tf.Tensor>)[port] ?? tf.scalar(0), weight))) as tf.Scalar)
    })
  })
}
