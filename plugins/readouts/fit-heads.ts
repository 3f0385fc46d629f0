/**
 * Heads fitted for an encoder, with their cards: the VA head on a valence–arousal corpus's
 * train/dev/test splits, the Ekman head on GoEmotions' single-label Ekman examples. The encoder
 * is an embedding function, so the same code fits a head for a model in training, a saved model
 * or cached vectors.
 */
import type { Scale } from "../data/types.ts"
import type { EmbedTexts } from "../evaluators/evaluator.ts"
import { predictRidge } from "../evaluators/math/ridge-regression.ts"
import { checkFinite, fitVaRidge, vaScores, type VaSplit } from "../evaluators/va-regression.ts"
import { fitEkmanReadout } from "./ekman-head.ts"
import { score, type EkmanHeadCard, type EncoderCard, type VaHeadCard } from "./head-files.ts"
import type { LinearReadout } from "./linear-readout.ts"
import { vaReadout } from "./va-head.ts"

export interface FittedHead<Card> {
  readonly readout: LinearReadout
  readonly card: Card
}

export interface CardStamp {
  readonly encoder: Omit<EncoderCard, "dims">
  /** carl's version. */
  readonly carl: string
}

const regression = (predicted: ArrayLike<number>, truth: ArrayLike<number>) => {
  const scores = vaScores(predicted, truth)
  return { pearson: score(scores.pearson), spearman: score(scores.spearman), mae: score(scores.mae) }
}

/** Ridge on train, λ per dimension on dev, scored on test when there is one. */
export const fitVaHead = (
  embed: EmbedTexts,
  splits: { readonly train: VaSplit; readonly dev: VaSplit; readonly test: VaSplit },
  corpus: { readonly name: string; readonly scale: Scale | null },
  stamp: CardStamp
): FittedHead<VaHeadCard> => {
  if (splits.train.texts.length < 3 || splits.dev.texts.length < 3) {
    throw new Error(`a VA head needs at least 3 train and 3 dev sentences; ${corpus.name} has ${splits.train.texts.length} and ${splits.dev.texts.length}`)
  }
  const train = embed(splits.train.texts)
  const dev = embed(splits.dev.texts)
  const fit = fitVaRidge({ vectors: train, labels: splits.train }, { vectors: dev, labels: splits.dev })
  const test = splits.test.texts.length >= 3 ? embed(splits.test.texts) : undefined
  if (test !== undefined) checkFinite(test, "test")
  const card: VaHeadCard = {
    format: "carl-va-head",
    version: 1,
    encoder: { ...stamp.encoder, dims: train[0]?.length ?? 0 },
    corpus: { name: corpus.name, scale: corpus.scale, train: splits.train.texts.length, dev: splits.dev.texts.length, test: splits.test.texts.length },
    fit: {
      method: "ridge",
      lambda: { valence: fit.valence.lambda, arousal: fit.arousal.lambda },
      devPearson: { valence: score(fit.valence.devPearson), arousal: score(fit.arousal.devPearson) }
    },
    test:
      test === undefined
        ? null
        : {
            valence: regression(predictRidge(fit.valence.model, test), splits.test.valence),
            arousal: regression(predictRidge(fit.arousal.model, test), splits.test.arousal)
          },
    createdAt: new Date().toISOString(),
    carl: stamp.carl
  }
  return { readout: vaReadout(fit), card }
}

export interface LabelledTexts {
  readonly texts: ReadonlyArray<string>
  readonly labels: ReadonlyArray<number>
}

/** Logistic regression on train, λ on dev accuracy, scored on test. */
export const fitEkmanHead = (
  embed: EmbedTexts,
  classes: ReadonlyArray<string>,
  splits: { readonly train: LabelledTexts; readonly dev: LabelledTexts; readonly test: LabelledTexts },
  corpus: { readonly name: string },
  stamp: CardStamp
): FittedHead<EkmanHeadCard> => {
  const vectors = (split: LabelledTexts) => ({ vectors: embed(split.texts), labels: split.labels })
  const train = vectors(splits.train)
  checkFinite(train.vectors, "train")
  const fit = fitEkmanReadout(classes, { train, dev: vectors(splits.dev), test: vectors(splits.test) })
  const card: EkmanHeadCard = {
    format: "carl-ekman-head",
    version: 1,
    encoder: { ...stamp.encoder, dims: fit.readout.dims },
    classes: [...classes],
    corpus: { name: corpus.name, train: splits.train.texts.length, dev: splits.dev.texts.length, test: splits.test.texts.length },
    fit: { method: "logistic", lambda: fit.lambda, devAccuracy: score(fit.devAccuracy) },
    test: { accuracy: score(fit.testAccuracy), macroF1: score(fit.testMacroF1) },
    createdAt: new Date().toISOString(),
    carl: stamp.carl
  }
  return { readout: fit.readout, card }
}
