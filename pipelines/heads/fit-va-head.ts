/**
 * A VA head fitted on a run's (or a user's) valence–arousal data and written beside the model:
 * what `carl fit-head --data` and the end of every `carl train` run share.
 */
import { basename } from "node:path"
import { Effect, Schema } from "effect"
import { problemText } from "../../core/errors.ts"
import type { EmbedTexts } from "../../plugins/evaluators/evaluator.ts"
import { fitVaHead, VA_HEAD, writeHead, type CardStamp } from "../../plugins/readouts/index.ts"
import { toVaSplit, type TrainingData } from "../train/training-data.ts"

/** A head that could not be fitted (too little data, embeddings that are not finite), named. */
export class HeadFitFailed extends Schema.TaggedError<HeadFitFailed>()("HeadFitFailed", {
  head: Schema.String,
  problem: Schema.String
}) {
  override get message(): string {
    return `fitting the ${this.head}: ${this.problem}`
  }
}

/** A nominal scale for the head's card: the corpus's, when every file shares it. */
const sharedScale = (data: TrainingData) => {
  const [first] = data.sources
  return first !== undefined && data.sources.every((source) => source.scale.min === first.scale.min && source.scale.max === first.scale.max)
    ? first.scale
    : null
}

const FORMAT_NAMES: Readonly<Record<string, string>> = { emobank: "EmoBank", "facebook-va": "Facebook posts" }

/** "EmoBank (emobank.csv)": the format's name where it has one, and the file. */
const corpusName = (data: TrainingData) =>
  data.sources.map((source) => (FORMAT_NAMES[source.format] === undefined ? basename(source.file) : `${FORMAT_NAMES[source.format]} (${basename(source.file)})`)).join(" + ")

/** Fits the VA head on `data` (train; λ on dev; scored on test) and writes it to `dir`. */
export const fitVaHeadOn = (data: TrainingData, embed: EmbedTexts, stamp: CardStamp, dir: string) =>
  Effect.gen(function* () {
    const fitted = yield* Effect.try({
      try: () =>
        fitVaHead(embed, { train: toVaSplit(data.train), dev: toVaSplit(data.dev), test: toVaSplit(data.test) }, { name: corpusName(data), scale: sharedScale(data) }, stamp),
      catch: (error) => new HeadFitFailed({ head: VA_HEAD, problem: problemText(error) })
    })
    yield* writeHead(dir, VA_HEAD, fitted.readout, fitted.card)
    return fitted
  })
