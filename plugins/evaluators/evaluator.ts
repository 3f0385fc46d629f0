/**
 * An evaluator, as sentence-transformers defines one: a callable on a model that returns named
 * metrics and says which one selects checkpoints and in which direction.
 */
import type { Pooling } from "../encoder/index.ts"
import type { TextEncoder } from "../encoder/load-text-encoder.ts"

export interface EvaluationResult {
  readonly metrics: Readonly<Record<string, number>>
  /** The value of the primary metric. */
  readonly primary: number
}

export interface Evaluator {
  readonly name: string
  readonly primaryMetric: string
  readonly greaterIsBetter: boolean
  evaluate(model: TextEncoder, options: { readonly pooling: Pooling; readonly batchSize: number; readonly maxLength: number }): EvaluationResult
}

export const isImprovement = (evaluator: Evaluator, candidate: number, best: number | undefined): boolean =>
  Number.isFinite(candidate) && (best === undefined || (evaluator.greaterIsBetter ? candidate > best : candidate < best))
