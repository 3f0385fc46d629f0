/**
 * EmoBank (Buechel & Hahn 2017), corpus/emobank.csv: `id,split,V,A,D,text`, V/A/D on the 1–5 SAM
 * scale (reader and writer ratings already combined), published train/dev/test splits. D is
 * not used: CARL's labels are valence and arousal only.
 */
import type { Effect } from "effect"
import type { DataError } from "./data-error.ts"
import type { Scale, VaCorpus } from "./types.ts"
import { readVaTable, type VaColumns } from "./va-table.ts"

export const EMOBANK_SCALE: Scale = { min: 1, max: 5 }

export const EMOBANK_COLUMNS: VaColumns = { text: "text", valence: ["V"], arousal: ["A"], split: "split", splitRequired: true }

export interface PublishedVaOptions {
  /** The nominal scale for Eq. 12; the dataset's own by default. */
  readonly scale?: Scale
  readonly skipBadRows?: boolean
}

export const readEmoBank = (file: string, options: PublishedVaOptions = {}): Effect.Effect<VaCorpus, DataError> =>
  readVaTable(file, {
    format: "emobank",
    layout: "csv",
    quoting: "rfc4180",
    columns: EMOBANK_COLUMNS,
    scale: options.scale ?? EMOBANK_SCALE,
    skipBadRows: options.skipBadRows ?? false
  })
