/**
 * A new head is one plugin and one line: here a linear valence-arousal regression head on the
 * pooled sentence vector, trained beside MCCL and PTD with weight 0.1.
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
const vaRegressionLoss = lossPort("vaRegression", "mean squared error of predicted valence and arousal")

const vaRegressionHead = (hiddenSize: number) => {
  const weights = ParameterSet.fromTensors(
    [
      ["weight", tf.zeros([hiddenSize, 2])],
      ["bias", tf.zeros([2])]
    ],
    { trainable: true }
  )
  return definePlugin({
    name: "va-regression",
    needs: [Ports.sentenceEmbedding, Ports.vaLabels],
    gives: [vaRegressionLoss],
    parameters: [weights],
    run: ({ sentenceEmbedding, vaLabels }) => ({
      "loss.vaRegression": tf.losses.meanSquaredError(
        vaLabels,
        dense(sentenceEmbedding, weights.get("weight") as tf.Tensor2D, weights.get("bias") as tf.Tensor1D)
      ) as tf.Scalar
    })
  })
}

// The CARL graph with the head wired in and weighted in the objective (Eq. 11 plus one term).
const config = defaultConfig()
const random = new SeededRandom(config.seed)
const encoder = BertEncoder.random(TINY_BERT_CONFIG, random.fork("encoder"), { trainable: true })
const model = createCarlModel(encoder, config, random)
const graph = carlGraphBuilder(model, config)
  .add(vaRegressionHead(encoder.hiddenSize))
  .add(objective({ "loss.mccl": 0.8, "loss.ptd": 0.2, "loss.vaRegression": 0.1 }))
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
