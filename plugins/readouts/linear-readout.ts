/**
 * The readout contract: what a sentence embedding is read out as. A readout is linear,
 * y = W·x + b with W of shape [outputs, dims] row-major — the layout of torch.nn.Linear(dims,
 * outputs), so a head saved by carl loads into PyTorch as one (weight, bias) pair. The VA head
 * is two ridge regressions; the Ekman head a multinomial logistic regression whose feature
 * standardisation is folded into W and b.
 */
import type { LogisticModel } from "../evaluators/math/logistic-regression.ts"
import type { RidgeModel } from "../evaluators/math/ridge-regression.ts"

export interface LinearReadout {
  /** One name per row of `weight`. */
  readonly outputs: ReadonlyArray<string>
  readonly dims: number
  readonly weight: Float64Array
  readonly bias: Float64Array
}

/** W·x + b for each vector; a vector of the wrong length is an error, never a silent truncation. */
export const applyReadout = (readout: LinearReadout, vectors: ReadonlyArray<ArrayLike<number>>): Array<Float64Array> =>
  vectors.map((vector, row) => {
    if (vector.length !== readout.dims) {
      throw new Error(`readout: vector ${row} has ${vector.length} dimensions, the head was fitted on ${readout.dims}`)
    }
    const out = Float64Array.from(readout.bias)
    for (let o = 0; o < readout.outputs.length; o++) {
      let sum = out[o] ?? 0
      const offset = o * readout.dims
      for (let j = 0; j < readout.dims; j++) sum += (readout.weight[offset + j] ?? 0) * (vector[j] ?? 0)
      out[o] = sum
    }
    return out
  })

/** Ridge models, one per output, as one readout. */
export const ridgeReadout = (outputs: ReadonlyArray<string>, models: ReadonlyArray<RidgeModel>): LinearReadout => {
  const dims = models[0]?.weights.length ?? 0
  const weight = new Float64Array(outputs.length * dims)
  models.forEach((model, o) => weight.set(model.weights, o * dims))
  return { outputs, dims, weight, bias: Float64Array.from(models, (model) => model.intercept) }
}

/**
 * A logistic model on standardised features z = (x − μ)·s as a readout on raw features:
 * W·z + b = (W∘s)·x + (b − (W∘s)·μ).
 */
export const logisticReadout = (classes: ReadonlyArray<string>, model: LogisticModel): LinearReadout => {
  const { dims } = model
  const weight = new Float64Array(model.classes * dims)
  const bias = Float64Array.from(model.bias)
  for (let k = 0; k < model.classes; k++) {
    for (let j = 0; j < dims; j++) {
      const w = (model.weights[k * dims + j] ?? 0) * (model.standardiser.scale[j] ?? 1)
      weight[k * dims + j] = w
      bias[k] = (bias[k] ?? 0) - w * (model.standardiser.mean[j] ?? 0)
    }
  }
  return { outputs: classes, dims, weight, bias }
}

/** Row-wise softmax of a readout's outputs (class scores → probabilities). */
export const softmax = (scores: ArrayLike<number>): Float64Array => {
  let largest = -Infinity
  for (let i = 0; i < scores.length; i++) largest = Math.max(largest, scores[i] ?? -Infinity)
  const out = Float64Array.from({ length: scores.length }, (_, i) => Math.exp((scores[i] ?? 0) - largest))
  const sum = out.reduce((a, b) => a + b, 0)
  return out.map((value) => value / sum)
}
