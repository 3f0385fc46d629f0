/**
 * The evaluator contract, as sentence-transformers defines one: a callable that measures
 * embeddings and returns named metrics, and says which one selects checkpoints and in which
 * direction. It receives an embedding function (texts → vectors), not a model: the same evaluator
 * runs on a model being trained, on cached vectors (carl eval), or on anything else that embeds.
 * A list of evaluators is itself an evaluator (evaluatorList).
 */

/** Texts → one vector each, in the same order. */
export type EmbedTexts = (texts: ReadonlyArray<string>) => ReadonlyArray<Float32Array>

export interface EvaluationResult {
  readonly metrics: Readonly<Record<string, number>>
  /** The value of the primary metric. */
  readonly primary: number
}

export interface Evaluator<Result extends EvaluationResult = EvaluationResult> {
  readonly name: string
  readonly primaryMetric: string
  readonly greaterIsBetter: boolean
  evaluate(embed: EmbedTexts): Result
}

export const isImprovement = (evaluator: Evaluator, candidate: number, best: number | undefined): boolean =>
  Number.isFinite(candidate) && (best === undefined || (evaluator.greaterIsBetter ? candidate > best : candidate < best))

/**
 * Several evaluators as one: each one's metrics under "<its name>/<metric>", and as the primary
 * metric the mean of their primaries, each turned so that greater is better (the paper selects
 * checkpoints on the mean of its transfer tasks).
 */
export const evaluatorList = (name: string, evaluators: ReadonlyArray<Evaluator>): Evaluator => ({
  name,
  primaryMetric: `mean of ${evaluators.map((evaluator) => `${evaluator.name}/${evaluator.primaryMetric}`).join(", ")}`,
  greaterIsBetter: true,
  evaluate: (embed) => {
    const metrics: Record<string, number> = {}
    let sum = 0
    for (const evaluator of evaluators) {
      const result = evaluator.evaluate(embed)
      for (const [metric, value] of Object.entries(result.metrics)) metrics[`${evaluator.name}/${metric}`] = value
      sum += evaluator.greaterIsBetter ? result.primary : -result.primary
    }
    return { metrics, primary: evaluators.length === 0 ? Number.NaN : sum / evaluators.length }
  }
})
