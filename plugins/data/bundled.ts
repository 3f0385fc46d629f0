/**
 * The data this repository ships (data/, each folder with its licence and attribution): the demo
 * corpus and EmoBank, in the layout `carl data fetch` leaves, so a fresh clone trains, evaluates
 * valence–arousal and serves its page offline.
 */
import { existsSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

/** The repository's data folder, laid out as the data cache (data/emobank/emobank.csv). */
const BUNDLED_DATA_DIR = fileURLToPath(new URL("../../data", import.meta.url))

export const BUNDLED_EMOBANK = join(BUNDLED_DATA_DIR, "emobank", "emobank.csv")

/** Datasets the repository carries, by name, with the file that must be there. */
const BUNDLED: Readonly<Record<string, string>> = { emobank: join("emobank", "emobank.csv") }

/**
 * Where to read `dataset` from: `dataDir` when it has the dataset, else the bundled copy when
 * there is one, else `dataDir` (whose missing file the caller then reports).
 */
export const dataRootFor = (dataDir: string, dataset: string): string => {
  const file = BUNDLED[dataset]
  if (file === undefined || existsSync(join(dataDir, file))) return dataDir
  return existsSync(join(BUNDLED_DATA_DIR, file)) ? BUNDLED_DATA_DIR : dataDir
}
