/** Readouts: heads that turn a sentence embedding into what a user asks of it (valence and arousal, an Ekman emotion). */
export { applyReadout, type LinearReadout } from "./linear-readout.ts"
export { predictVa, toNominal, VA_OUTPUTS, type VaPrediction } from "./va-head.ts"
export { predictEkman, type EkmanPrediction } from "./ekman-head.ts"
export { fitEkmanHead, fitVaHead, type CardStamp, type FittedHead } from "./fit-heads.ts"
export {
  EKMAN_HEAD,
  HeadFileError,
  HeadMismatch,
  HeadMissing,
  readEkmanHead,
  readVaHead,
  VA_HEAD,
  writeHead,
  type EkmanHeadCard,
  type EncoderCard,
  type LoadedHead,
  type VaHeadCard
} from "./head-files.ts"
