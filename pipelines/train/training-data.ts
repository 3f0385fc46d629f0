/** What the trainer reads: labelled sentences split into train, dev and test, and where they came from. */

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
