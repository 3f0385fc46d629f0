/**
 * The Ekman head: which of Ekman's six basic emotions a sentence is nearest to. A multinomial
 * logistic regression (the probe of the paper's Table III) fitted on GoEmotions' single-label
 * Ekman examples, λ chosen on dev accuracy, scored on test; read out with its probability.
 */
import { confusionMatrix, macroScores } from "../evaluators/classification-metrics.ts"
import { probeWithDev, type LabelledVectors } from "../evaluators/linear-probe.ts"
import { applyReadout, logisticReadout, softmax, type LinearReadout } from "./linear-readout.ts"

export interface EkmanFit {
  readonly readout: LinearReadout
  readonly lambda: number
  readonly devAccuracy: number
  readonly testAccuracy: number
  readonly testMacroF1: number
}

export const fitEkmanReadout = (
  classes: ReadonlyArray<string>,
  splits: { readonly train: LabelledVectors; readonly dev: LabelledVectors; readonly test: LabelledVectors }
): EkmanFit => {
  const result = probeWithDev(splits, { classes: classes.length })
  const scores = macroScores(confusionMatrix(splits.test.labels, result.predictions, classes.length))
  return {
    readout: logisticReadout(classes, result.model),
    lambda: result.lambda,
    devAccuracy: result.devAccuracy,
    testAccuracy: result.accuracy,
    testMacroF1: scores.f1
  }
}

export interface EkmanPrediction {
  readonly emotion: string
  readonly probability: number
}

/** The most probable class of each embedding, and its probability. */
export const predictEkman = (readout: LinearReadout, vectors: ReadonlyArray<ArrayLike<number>>): Array<EkmanPrediction> =>
  applyReadout(readout, vectors).map((scores) => {
    const probabilities = softmax(scores)
    let best = 0
    for (let k = 1; k < probabilities.length; k++) if ((probabilities[k] ?? 0) > (probabilities[best] ?? 0)) best = k
    return { emotion: readout.outputs[best] ?? "", probability: probabilities[best] ?? Number.NaN }
  })
