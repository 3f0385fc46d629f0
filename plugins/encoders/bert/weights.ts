/**
 * BERT's weights under their Hugging Face names (BertModel without the `bert.` prefix), in tfjs
 * layout: Linear weights are [in, out], the transpose of PyTorch's [out, in].
 */
import type * as tf from "@tensorflow/tfjs"
import { denseWeights, layerNormWeights, normalWeight } from "../../../core/initializers.ts"
import type { SeededRandom } from "../../../core/random.ts"
import type { BertConfig } from "./config.ts"

export const layerPrefix = (index: number) => `encoder.layer.${index}`

/** Every weight's name and tfjs shape, in the order initBertWeights makes them. */
export const bertWeightShapes = (config: BertConfig): Array<readonly [string, ReadonlyArray<number>]> => {
  const { hiddenSize: H, intermediateSize: I } = config
  const dense = (name: string, inFeatures: number, outFeatures: number) =>
    [[`${name}.weight`, [inFeatures, outFeatures]], [`${name}.bias`, [outFeatures]]] as const
  const norm = (name: string) => [[`${name}.weight`, [H]], [`${name}.bias`, [H]]] as const
  const shapes: Array<readonly [string, ReadonlyArray<number>]> = [
    ["embeddings.word_embeddings.weight", [config.vocabSize, H]],
    ["embeddings.position_embeddings.weight", [config.maxPositionEmbeddings, H]],
    ["embeddings.token_type_embeddings.weight", [config.typeVocabSize, H]],
    ...norm("embeddings.LayerNorm")
  ]
  for (let i = 0; i < config.numHiddenLayers; i++) {
    const layer = layerPrefix(i)
    shapes.push(
      ...dense(`${layer}.attention.self.query`, H, H),
      ...dense(`${layer}.attention.self.key`, H, H),
      ...dense(`${layer}.attention.self.value`, H, H),
      ...dense(`${layer}.attention.output.dense`, H, H),
      ...norm(`${layer}.attention.output.LayerNorm`),
      ...dense(`${layer}.intermediate.dense`, H, I),
      ...dense(`${layer}.output.dense`, I, H),
      ...norm(`${layer}.output.LayerNorm`)
    )
  }
  shapes.push(...dense("pooler.dense", H, H))
  return shapes
}

/**
 * The weights of PyTorch Linear layers: stored [out, in] in checkpoints, [in, out] here.
 * Every `dense`, `query`, `key` and `value` module in BERT is a Linear layer.
 */
export const isLinearWeight = (name: string): boolean => /\.(dense|query|key|value)\.weight$/.test(name)

/** Random weights with BERT's initialisation. */
export const initBertWeights = (random: SeededRandom, config: BertConfig): Array<readonly [string, tf.Tensor]> => {
  const { hiddenSize: H, intermediateSize: I } = config
  const tensors: Array<readonly [string, tf.Tensor]> = [
    ["embeddings.word_embeddings.weight", normalWeight(random, [config.vocabSize, H])],
    ["embeddings.position_embeddings.weight", normalWeight(random, [config.maxPositionEmbeddings, H])],
    ["embeddings.token_type_embeddings.weight", normalWeight(random, [config.typeVocabSize, H])],
    ...layerNormWeights("embeddings.LayerNorm", H)
  ]
  for (let i = 0; i < config.numHiddenLayers; i++) {
    const layer = layerPrefix(i)
    tensors.push(
      ...denseWeights(random, `${layer}.attention.self.query`, H, H),
      ...denseWeights(random, `${layer}.attention.self.key`, H, H),
      ...denseWeights(random, `${layer}.attention.self.value`, H, H),
      ...denseWeights(random, `${layer}.attention.output.dense`, H, H),
      ...layerNormWeights(`${layer}.attention.output.LayerNorm`, H),
      ...denseWeights(random, `${layer}.intermediate.dense`, H, I),
      ...denseWeights(random, `${layer}.output.dense`, I, H),
      ...layerNormWeights(`${layer}.output.LayerNorm`, H)
    )
  }
  tensors.push(...denseWeights(random, "pooler.dense", H, H))
  return tensors
}
