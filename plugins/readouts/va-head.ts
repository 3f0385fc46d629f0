/**
 * The valence–arousal head: what turns a sentence embedding into valence and arousal. Two ridge
 * regressions — the probe of the paper's Table I, kept (va-regression.ts fits it: train split, λ per
 * dimension by Pearson r on dev, scored on test). The head predicts on the
 * labels' [−1, 1] scale (Eq. 12) and, through the corpus's nominal scale, on that scale too.
 */
import type { Scale } from "../data/types.ts"
import type { VaDimension, VaFit } from "../evaluators/va-regression.ts"
import { applyReadout, ridgeReadout, type LinearReadout } from "./linear-readout.ts"

export const VA_OUTPUTS: ReadonlyArray<VaDimension> = ["valence", "arousal"]

export const vaReadout = (fit: VaFit): LinearReadout => ridgeReadout(VA_OUTPUTS, [fit.valence.model, fit.arousal.model])

export interface VaPrediction {
  /** On [−1, 1] (Eq. 12), clipped to it. */
  readonly valence: number
  readonly arousal: number
}

const clip = (value: number): number => Math.min(1, Math.max(-1, value))

/** Valence and arousal of each embedding, on [−1, 1]. */
export const predictVa = (readout: LinearReadout, vectors: ReadonlyArray<ArrayLike<number>>): Array<VaPrediction> =>
  applyReadout(readout, vectors).map((out) => ({ valence: clip(out[0] ?? Number.NaN), arousal: clip(out[1] ?? Number.NaN) }))

/** The inverse of Eq. 12: a value on [−1, 1] back on the nominal scale. */
export const toNominal = (value: number, scale: Scale): number => scale.min + ((value + 1) / 2) * (scale.max - scale.min)
