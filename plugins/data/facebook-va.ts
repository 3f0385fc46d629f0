/**
 * The Facebook valence–arousal posts (Preoţiuc-Pietro et al. 2016, wwbp
 * dataset-fb-valence-arousal-anon.csv): `Anonymized Message,Valence1,Valence2,Arousal1,Arousal2`,
 * two annotators each rating 1–9. A post's label is the mean of its two ratings, as in the
 * paper; each rating is checked against the scale before averaging.
 *
 * The published file has posts whose message is empty: read it with `skipBadRows` and they are
 * counted under `emptyText`.
 */
import type { Effect } from "effect"
import type { DataError } from "./data-error.ts"
import type { PublishedVaOptions } from "./emobank.ts"
import type { Scale, VaCorpus } from "./types.ts"
import { readVaTable, type VaColumns } from "./va-table.ts"

export const FACEBOOK_VA_SCALE: Scale = { min: 1, max: 9 }

export const FACEBOOK_VA_COLUMNS: VaColumns = {
  text: "Anonymized Message",
  valence: ["Valence1", "Valence2"],
  arousal: ["Arousal1", "Arousal2"]
}

export const readFacebookVa = (file: string, options: PublishedVaOptions = {}): Effect.Effect<VaCorpus, DataError> =>
  readVaTable(file, {
    format: "facebook-va",
    layout: "csv",
    quoting: "rfc4180",
    columns: FACEBOOK_VA_COLUMNS,
    scale: options.scale ?? FACEBOOK_VA_SCALE,
    skipBadRows: options.skipBadRows ?? false
  })
