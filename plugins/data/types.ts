/**
 * The shapes every data plugin returns, and Eq. 12.
 */

/** A dataset's nominal label scale: EmoBank's SAM ratings are 1–5, the Facebook posts' 1–9. */
export interface Scale {
  readonly min: number
  readonly max: number
}

export type Split = "train" | "dev" | "test"

export const SPLITS: ReadonlyArray<Split> = ["train", "dev", "test"]

/** Valence and arousal already normalised to [−1, 1] by Eq. 12 on the file's scale. */
export interface VaExample {
  readonly text: string
  readonly valence: number
  readonly arousal: number
  /** The split the file publishes; absent when the file has none (splitCorpus then draws one). */
  readonly split?: Split
}

/** Why a row was skipped under `skipBadRows` (or, without it, the kind of error it raised). */
export const SKIP_REASONS = [
  "missingField",
  "extraFields",
  "badQuoting",
  "badJson",
  "wrongType",
  "invalidUtf8",
  "emptyText",
  "notANumber",
  "outOfScale",
  "badSplit"
] as const

export type SkipReason = (typeof SKIP_REASONS)[number]

export type SkipCounts = Readonly<Record<SkipReason, number>>

export const noSkips = (): Record<SkipReason, number> =>
  Object.fromEntries(SKIP_REASONS.map((reason) => [reason, 0])) as Record<SkipReason, number>

export type VaFormat = "emobank" | "facebook-va" | "csv" | "tsv" | "jsonl"

export interface VaCorpus {
  readonly file: string
  readonly format: VaFormat
  /** The scale Eq. 12 used, to be saved with the run. */
  readonly scale: Scale
  /** Data rows in the file (blank lines and the header not counted): examples plus skipped. */
  readonly rows: number
  readonly examples: ReadonlyArray<VaExample>
  readonly skipped: SkipCounts
}

/**
 * Eq. 12: x' = 2·(x − min)/(max − min) − 1, min and max being the nominal scale, not the observed
 * range, so a label means the same thing whichever rows a file happens to contain.
 */
export const normaliseLabel = (value: number, scale: Scale): number => (2 * (value - scale.min)) / (scale.max - scale.min) - 1

/** A sentence with a class label, for the evaluation corpora. */
export interface LabelledText<Label = number> {
  readonly text: string
  readonly label: Label
}
