/**
 * A new head is one plugin and one line: here a logistic head on the pooled sentence vector that
 * learns whether a sentence is positive (valence > 0), trained beside MCCL and PTD with weight 0.1.
 *
 *   npx tsx examples/custom-head.ts
 */
import * as tf from "@tensorflow/tfjs"
import {
  AdamW,
  BertEncoder,
  carlGraphBuilder,
  createCarlModel,
  defaultConfig,
  definePlugin,
  dense,
  lossPort,
  objective,
  ParameterSet,
  Ports,
  SeededRandom,
  TINY_BERT_CONFIG,
  trainStep,
  useBackend
} from "../index.ts"
import { syntheticBatch } from "../pipelines/synthetic-batch.ts"

await useBackend("cpu")

// The head: its weights, the ports it reads, the loss port it gives.
const polarityLoss = lossPort("polarity", "cross-entropy of 'valence > 0' from the sentence vector")

const polarityHead = (hiddenSize: number) => {
  const weights = ParameterSet.fromTensors(
    [
      ["weight", tf.zeros([hiddenSize, 1])],
      ["bias", tf.zeros([1])]
    ],
    { trainable: true }
  )
  return definePlugin({
    name: "polarity",
    needs: [Ports.sentenceEmbedding, Ports.vaLabels],
    gives: [polarityLoss],
    parameters: [weights],
    run: ({ sentenceEmbedding, vaLabels }) => {
      const logits = dense(sentenceEmbedding, weights.get("weight") as tf.Tensor2D, weights.get("bias") as tf.Tensor1D)
      const positive = tf.cast(tf.greater(tf.slice(vaLabels, [0, 0], [-1, 1]), 0), "float32")
      return { "loss.polarity": tf.losses.sigmoidCrossEntropy(positive, logits) as tf.Scalar }
    }
  })
}

// The CARL graph with the head wired in and weighted in the objective (Eq. 11 plus one term).
const config = defaultConfig()
const random = new SeededRandom(config.seed)
const encoder = BertEncoder.random(TINY_BERT_CONFIG, random.fork("encoder"), { trainable: true })
const model = createCarlModel(encoder, config, random)
const graph = carlGraphBuilder(model, config)
  .add(polarityHead(encoder.hiddenSize))
  .add(objective({ "loss.mccl": 0.8, "loss.ptd": 0.2, "loss.polarity": 0.1 }))
  .build()

const batch = syntheticBatch(random.fork("batch"), { batchSize: 8, seqLength: 12, vocabSize: TINY_BERT_CONFIG.vocabSize })
const optimizer = new AdamW({ learningRate: 1e-3 })
const steps = 3
for (let step = 0; step < steps; step++) {
  const report = trainStep(graph, optimizer, { ...batch }, { step, totalSteps: steps })
  const { objective: total, ...losses } = report.scalars
  console.log(`step ${report.step}: objective ${total?.toFixed(4)}`, JSON.stringify(losses))
  if (!report.finite) throw new Error(`step ${report.step}: non-finite loss`)
}
