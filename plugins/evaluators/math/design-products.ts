/**
 * The two products a logistic-regression probe spends its time in, over a standardised
 * row-major design X [n, d] (logistic-regression.ts):
 *
 *   scores    S[i, k] = b_k + Σ_j W[k, j]·X[i, j]     (j ascending, from b_k)
 *   gradient  G[k, j] = Σ_i R[i, k]·X[i, j]           (i ascending, from 0)
 *
 * In carl's native kernels when `npm install` built them (native/carl_probe_math.c), else in
 * JavaScript. Both take every sum in the same order with the same roundings, so a probe's
 * numbers are bit-identical either way; the native ones are several times faster (MR's nested
 * cross-validation: minutes to seconds, docs/PERFORMANCE.md).
 */
import { loadNativeKernels } from "../../backends/native/addon.ts"

export interface DesignProducts {
  /** What computes them, for logs: "native" or "javascript". */
  readonly name: string
  /** Writes S (row-major [n, classes]) into `scores`. */
  readonly scores: (x: Float64Array, n: number, d: number, weights: Float64Array, bias: Float64Array, classes: number, scores: Float64Array) => void
  /** Writes G (row-major [classes, d]) into `gradient`, from R (row-major [n, classes]). */
  readonly gradient: (x: Float64Array, n: number, d: number, residuals: Float64Array, classes: number, gradient: Float64Array) => void
}

export const javascriptProducts: DesignProducts = {
  name: "javascript",
  scores: (x, n, d, weights, bias, classes, scores) => {
    for (let i = 0; i < n; i++) {
      const offset = i * d
      for (let k = 0; k < classes; k++) {
        const row = k * d
        let z = bias[k] ?? 0
        for (let j = 0; j < d; j++) z += (weights[row + j] ?? 0) * (x[offset + j] ?? 0)
        scores[i * classes + k] = z
      }
    }
  },
  gradient: (x, n, d, residuals, classes, gradient) => {
    gradient.fill(0, 0, classes * d)
    for (let i = 0; i < n; i++) {
      const offset = i * d
      for (let k = 0; k < classes; k++) {
        const residual = residuals[i * classes + k] ?? 0
        const row = k * d
        for (let j = 0; j < d; j++) gradient[row + j] = (gradient[row + j] ?? 0) + residual * (x[offset + j] ?? 0)
      }
    }
  }
}

/** The native products when the addon has them, else undefined. */
export const nativeProducts: DesignProducts | undefined = (() => {
  const addon = loadNativeKernels()
  // An addon built before these kernels existed lacks them: JavaScript then, with the same numbers.
  if (!addon.ok || addon.kernels.probeScores === undefined || addon.kernels.probeGradient === undefined) return undefined
  return { name: "native", scores: addon.kernels.probeScores, gradient: addon.kernels.probeGradient }
})()

/** The native products when built, else JavaScript's. */
export const defaultProducts: DesignProducts = nativeProducts ?? javascriptProducts
