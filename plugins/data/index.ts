/** Data plugins: the training (valence–arousal) and evaluation corpora, read as published. See docs/DATA.md. */
export { DataError } from "./data-error.ts"
export { parseDelimited, type DelimitedOptions, type DelimitedProblem, type DelimitedRecord } from "./delimited.ts"
export { EMOBANK_COLUMNS, EMOBANK_SCALE, readEmoBank, type PublishedVaOptions } from "./emobank.ts"
export { FACEBOOK_VA_COLUMNS, FACEBOOK_VA_SCALE, readFacebookVa } from "./facebook-va.ts"
export {
  goEmotionsToEkman,
  readGoEmotions,
  type EkmanClass,
  type EkmanCorpus,
  type EkmanExample,
  type EkmanSplitCounts,
  type GoEmotionsCorpus,
  type GoEmotionsExample
} from "./goemotions.ts"
export { readImdb, type ImdbCorpus, type ImdbExample, type ImdbOptions, type ImdbSplit, type ImdbSplitCounts } from "./imdb.ts"
export {
  readCr,
  readMr,
  readPolarityFiles,
  type PolarityCorpus,
  type PolarityCounts,
  type PolarityFiles,
  type PolarityOptions
} from "./polarity-lines.ts"
export { readSst5, type Sst5Corpus, type Sst5SplitCounts } from "./sst5.ts"
export { escapesArchive, TarReader, type TarEntryKind, type TarHeader, type TarProblem, type TarVisitor } from "./tar.ts"
export {
  noSkips,
  normaliseLabel,
  SKIP_REASONS,
  SPLITS,
  type LabelledText,
  type Scale,
  type SkipCounts,
  type SkipReason,
  type Split,
  type VaCorpus,
  type VaExample,
  type VaFormat
} from "./types.ts"
export {
  combineCorpora,
  readVaCorpus,
  splitCorpus,
  type CombinedVaCorpus,
  type GenericVaOptions,
  type SourcedVaExample,
  type SplitOptions,
  type VaReadOptions,
  type VaSource,
  type VaSplits
} from "./va-corpus.ts"
export type { VaColumns } from "./va-table.ts"
