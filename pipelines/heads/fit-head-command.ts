/**
 * `carl fit-head`: heads for any encoder. `--data` fits the VA head (ridge, λ per dimension on
 * the corpus's dev split, scored on its test split, as `carl eval` fits its probe); `--goemotions`
 * fits the Ekman head (logistic regression on GoEmotions' single-label Ekman examples, λ on dev).
 * Each is written beside the model (or in --out) as <head>.safetensors + <head>.json.
 */
import { Console, Effect } from "effect"
import { problemText } from "../../core/errors.ts"
import { goEmotionsToEkman, readGoEmotions } from "../../plugins/data/index.ts"
import type { DataSpec } from "../../plugins/data/va-spec.ts"
import type { Pooling } from "../../plugins/encoders/index.ts"
import { loadTextEncoderScoped, USE_LITE_MODEL_ID } from "../../plugins/encoders/load-text-encoder.ts"
import type { EmbedTexts } from "../../plugins/evaluators/evaluator.ts"
import { EKMAN_HEAD, fitEkmanHead, VA_HEAD, writeHead, type CardStamp } from "../../plugins/readouts/index.ts"
import { embedTexts } from "../embed.ts"
import { loadTrainingData } from "../train/load-training-data.ts"
import { CARL_VERSION } from "../version.ts"
import { fitVaHeadOn, HeadFitFailed } from "./fit-va-head.ts"
import { modelWithHeads } from "./model-heads.ts"


export interface FitHeadOptions {
  readonly model: string
  /** VA corpora for the VA head (none: no VA head). */
  readonly data: ReadonlyArray<DataSpec>
  /** A GoEmotions folder for the Ekman head. */
  readonly goemotions?: string | undefined
  /** Default: the model's own folder. */
  readonly out?: string | undefined
  readonly pooling: Pooling
  readonly maxLength: number
  readonly batchSize: number
  readonly seed: number
  readonly skipBadRows: boolean
  readonly offline: boolean
}

export const fitHeadCommand = Effect.fn("fitHeadCommand")(function* (options: FitHeadOptions) {
  if (options.data.length === 0 && options.goemotions === undefined) {
    return yield* new HeadFitFailed({ head: "heads", problem: "name a VA corpus with --data (the VA head) and/or a GoEmotions folder with --goemotions (the Ekman head)" })
  }
  const resolved = yield* modelWithHeads(options.model, { hub: { offline: options.offline } })
  const out = options.out ?? (options.model === USE_LITE_MODEL_ID ? undefined : resolved.headDir)
  if (out === undefined) {
    return yield* new HeadFitFailed({ head: "heads", problem: "--out is needed for use-lite (its shipped heads live in the repository's models/use-lite)" })
  }
  if (resolved.note !== undefined) yield* Console.error(`carl: ${resolved.note}`)
  // The data first: a bad file fails before the model is loaded.
  const vaData = options.data.length === 0 ? undefined : yield* loadTrainingData(options.data, { seed: options.seed, skipBadRows: options.skipBadRows })
  const goemotions = options.goemotions === undefined ? undefined : goEmotionsToEkman(yield* readGoEmotions(options.goemotions))

  const text = yield* loadTextEncoderScoped(resolved.model, { trainable: false, hub: { offline: options.offline } })
  const maxLength = Math.min(options.maxLength, text.maxLength)
  const embed: EmbedTexts = (texts) => embedTexts(text, texts, { pooling: options.pooling, batchSize: options.batchSize, maxLength }).vectors
  const stamp: CardStamp = { encoder: { model: options.model, pooling: options.pooling, maxLength }, carl: CARL_VERSION }

  if (vaData !== undefined) {
    const started = performance.now()
    const fitted = yield* fitVaHeadOn(vaData, embed, stamp, out)
    const test = fitted.card.test
    yield* Console.log(
      `${VA_HEAD}: fitted on ${fitted.card.corpus.name} (train ${fitted.card.corpus.train}, dev ${fitted.card.corpus.dev}) in ${((performance.now() - started) / 1000).toFixed(1)} s; ` +
        (test === null ? "no test split to score it on" : `test valence r ${test.valence.pearson?.toFixed(3) ?? "undefined"}, arousal r ${test.arousal.pearson?.toFixed(3) ?? "undefined"}`) +
        ` → ${out}/${VA_HEAD}.json`
    )
  }
  if (goemotions !== undefined) {
    const started = performance.now()
    const split = (name: "train" | "dev" | "test") => ({
      texts: goemotions.splits[name].map((example) => example.text),
      labels: goemotions.splits[name].map((example) => example.label)
    })
    const fitted = yield* Effect.try({
      try: () => fitEkmanHead(embed, goemotions.classes, { train: split("train"), dev: split("dev"), test: split("test") }, { name: "GoEmotions, single-label Ekman examples" }, stamp),
      catch: (error) => new HeadFitFailed({ head: EKMAN_HEAD, problem: problemText(error) })
    })
    yield* writeHead(out, EKMAN_HEAD, fitted.readout, fitted.card)
    yield* Console.log(
      `${EKMAN_HEAD}: fitted on ${fitted.card.corpus.name} (train ${fitted.card.corpus.train}, dev ${fitted.card.corpus.dev}) in ${((performance.now() - started) / 1000).toFixed(1)} s; ` +
        `test accuracy ${fitted.card.test.accuracy?.toFixed(3) ?? "undefined"}, macro F1 ${fitted.card.test.macroF1?.toFixed(3) ?? "undefined"} → ${out}/${EKMAN_HEAD}.json`
    )
  }
})
