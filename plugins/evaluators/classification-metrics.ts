/**
 * Accuracy and macro-averaged precision, recall and F1 from a confusion matrix, as scikit-learn's
 * `precision_recall_fscore_support(average="macro", zero_division=0)` computes them: per-class
 * scores first, then their unweighted mean over every class (a class never predicted has
 * precision 0; a class absent from the truth has recall 0). Macro F1 is the mean of per-class
 * F1s, not the F1 of the macro precision and recall.
 */

/** counts[truth][predicted]. */
export type ConfusionMatrix = ReadonlyArray<ReadonlyArray<number>>

export const confusionMatrix = (truth: ArrayLike<number>, predicted: ArrayLike<number>, classes: number): Array<Array<number>> => {
  if (truth.length !== predicted.length) throw new Error(`confusionMatrix: ${truth.length} labels against ${predicted.length} predictions`)
  const counts = Array.from({ length: classes }, () => new Array<number>(classes).fill(0))
  for (let i = 0; i < truth.length; i++) {
    const row = counts[truth[i] ?? -1]
    const column = predicted[i] ?? -1
    if (row === undefined || !(column >= 0 && column < classes)) {
      throw new Error(`confusionMatrix: pair (${truth[i]}, ${predicted[i]}) is outside 0…${classes - 1}`)
    }
    row[column] = (row[column] ?? 0) + 1
  }
  return counts
}

export const accuracy = (truth: ArrayLike<number>, predicted: ArrayLike<number>): number => {
  if (truth.length !== predicted.length) throw new Error(`accuracy: ${truth.length} labels against ${predicted.length} predictions`)
  let correct = 0
  for (let i = 0; i < truth.length; i++) if (truth[i] === predicted[i]) correct++
  return truth.length === 0 ? Number.NaN : correct / truth.length
}

export interface ClassScores {
  readonly precision: number
  readonly recall: number
  readonly f1: number
  /** Examples of the class in the truth. */
  readonly support: number
}

export interface MacroScores {
  readonly accuracy: number
  readonly precision: number
  readonly recall: number
  readonly f1: number
  readonly perClass: ReadonlyArray<ClassScores>
}

export const macroScores = (confusion: ConfusionMatrix): MacroScores => {
  const classes = confusion.length
  let total = 0
  let correct = 0
  const perClass = confusion.map((row, c) => {
    const truePositives = row[c] ?? 0
    const support = row.reduce((sum, count) => sum + count, 0)
    const predictedAs = confusion.reduce((sum, other) => sum + (other[c] ?? 0), 0)
    total += support
    correct += truePositives
    const precision = predictedAs === 0 ? 0 : truePositives / predictedAs
    const recall = support === 0 ? 0 : truePositives / support
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall)
    return { precision, recall, f1, support }
  })
  const meanOf = (key: "precision" | "recall" | "f1") => perClass.reduce((sum, scores) => sum + scores[key], 0) / classes
  return {
    accuracy: total === 0 ? Number.NaN : correct / total,
    precision: meanOf("precision"),
    recall: meanOf("recall"),
    f1: meanOf("f1"),
    perClass
  }
}
