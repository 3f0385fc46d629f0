/** What the trainer reads: labelled sentences split into train, dev and test, and where they came from. */
import { Effect, Schema } from "effect"

export interface TrainingExample {
  readonly text: string
  /** Normalised to [−1, 1] (Eq. 12). */
  readonly valence: number
  readonly arousal: number
}

export interface DataSourceSummary {
  readonly file: string
  readonly format: string
  readonly scale: { readonly min: number; readonly max: number }
  readonly examples: number
  readonly skipped: Readonly<Record<string, number>>
}

export interface TrainingData {
  readonly train: ReadonlyArray<TrainingExample>
  readonly dev: ReadonlyArray<TrainingExample>
  readonly test: ReadonlyArray<TrainingExample>
  readonly sources: ReadonlyArray<DataSourceSummary>
}

export const toVaSplit = (examples: ReadonlyArray<TrainingExample>) => ({
  texts: examples.map((example) => example.text),
  valence: examples.map((example) => example.valence),
  arousal: examples.map((example) => example.arousal)
})

/** A training example whose label is not a finite number (data given in code, not read by carl's loaders). */
export class InvalidExample extends Schema.TaggedError<InvalidExample>()("InvalidExample", {
  split: Schema.String,
  index: Schema.Number,
  problem: Schema.String
}) {
  override get message(): string {
    return `training data: ${this.split}[${this.index}]: ${this.problem}`
  }
}

/** Labels must be finite numbers: the loaders guarantee it for files; data built in code is checked here. */
export const checkLabels = (data: TrainingData) =>
  Effect.gen(function* () {
    for (const [split, examples] of [["train", data.train], ["dev", data.dev], ["test", data.test]] as const) {
      for (const [index, example] of examples.entries()) {
        for (const label of ["valence", "arousal"] as const) {
          if (!Number.isFinite(example[label])) {
            return yield* new InvalidExample({ split, index, problem: `${label} is ${String(example[label])}, not a finite number` })
          }
        }
      }
    }
  })
