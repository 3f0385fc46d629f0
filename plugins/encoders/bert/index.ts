/** BERT and RoBERTa as a carl Encoder. */
import type * as tf from "@tensorflow/tfjs"
import type { Dropout, DropoutRates } from "../../../core/dropout.ts"
import { ParameterSet } from "../../../core/parameters.ts"
import type { SeededRandom } from "../../../core/random.ts"
import type { Encoder, Pooling } from "../encoder.ts"
import { poolWithPooler } from "../pooling.ts"
import { checkBertConfig, type BertConfig } from "./config.ts"
import { bertHiddenStates, wordEmbeddings } from "./forward.ts"
import { initBertWeights } from "./weights.ts"

export { TINY_BERT_CONFIG, checkBertConfig, type BertConfig } from "./config.ts"
export { bertWeightShapes, initBertWeights, isLinearWeight } from "./weights.ts"

export class BertEncoder implements Encoder {
  readonly kind: string

  constructor(
    readonly config: BertConfig,
    readonly parameters: ParameterSet
  ) {
    this.kind = config.modelType
  }

  /** A BERT (or RoBERTa) with random weights drawn from `random`. */
  static random(config: BertConfig, random: SeededRandom, options: { readonly trainable: boolean }): BertEncoder {
    const problem = checkBertConfig(config)
    if (problem !== undefined) throw new Error(`BERT config: ${problem}`)
    const tensors = initBertWeights(random, config)
    const parameters = ParameterSet.fromTensors(tensors, options)
    for (const [, tensor] of tensors) tensor.dispose()
    return new BertEncoder(config, parameters)
  }

  get hiddenSize(): number {
    return this.config.hiddenSize
  }

  get dropoutRates(): DropoutRates {
    return { hidden: this.config.hiddenDropoutProb, attention: this.config.attentionProbsDropoutProb }
  }

  embedTokens(tokenIds: tf.Tensor2D): tf.Tensor3D {
    return wordEmbeddings(this.parameters, tokenIds)
  }

  encode(tokenEmbeddings: tf.Tensor3D, tokenIds: tf.Tensor2D, attentionMask: tf.Tensor2D, dropout?: Dropout): tf.Tensor3D {
    return bertHiddenStates(this.parameters, this.config, tokenEmbeddings, tokenIds, attentionMask, dropout)
  }

  pool(hiddenStates: tf.Tensor3D, attentionMask: tf.Tensor2D, pooling: Pooling): tf.Tensor2D {
    return poolWithPooler(this.parameters, hiddenStates, attentionMask, pooling)
  }

  copy(options: { readonly trainable: boolean }): BertEncoder {
    return new BertEncoder(this.config, this.parameters.copy(options))
  }
}
