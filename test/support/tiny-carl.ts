/** A tiny CARL model and batch for tests: seconds on one core. */
import type * as tf from "@tensorflow/tfjs"
import { defaultConfig, type CarlConfig } from "../../plugins/carl/config.ts"
import { SeededRandom } from "../../core/random.ts"
import { TINY_BERT_CONFIG } from "../../plugins/encoders/index.ts"
import { BertEncoder } from "../../plugins/encoders/index.ts"
import { createCarlModel, type CarlBatch, type CarlModel } from "../../pipelines/carl-graph.ts"
import { syntheticBatch } from "../../pipelines/synthetic-batch.ts"

export interface TinyCarl {
  readonly config: CarlConfig
  readonly model: CarlModel
  readonly batch: CarlBatch
  readonly inputs: Readonly<Record<string, tf.Tensor>>
}

type Overrides = { readonly [K in keyof CarlConfig]?: Partial<CarlConfig[K]> }

export const tinyCarl = (overrides: Overrides = {}, seed = 3): TinyCarl => {
  const defaults = defaultConfig()
  const config = { ...defaults } as Record<string, unknown>
  for (const [key, value] of Object.entries(overrides)) {
    config[key] = { ...(defaults[key as keyof CarlConfig] as object), ...(value as object) }
  }
  const random = new SeededRandom(seed)
  const encoder = BertEncoder.random(TINY_BERT_CONFIG, random.fork("encoder"), { trainable: true })
  const model = createCarlModel(encoder, config as CarlConfig, random)
  const batch = syntheticBatch(random.fork("batch"), { batchSize: 6, seqLength: 10, vocabSize: TINY_BERT_CONFIG.vocabSize })
  return { config: config as CarlConfig, model, batch, inputs: { ...batch } }
}
