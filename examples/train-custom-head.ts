/**
 * Training a graph of one's own in code: MCCL plus an arousal-regression head, on the first 48
 * sentences of the demo corpus, 4 steps. `npx tsx examples/train-custom-head.ts`
 */
import * as tf from "@tensorflow/tfjs"
import { Effect, Layer } from "effect"
import { Backend, decodeConfig, definePlugin, dense, loadTrainingData, lossPort, mcclGraphBuilder, objective, ParameterSet, Ports, Rng, train } from "../index.ts"

const arousalLoss = lossPort("arousal", "squared error of arousal predicted from the sentence vector")
const arousalHead = (hidden: number) => {
  const weights = ParameterSet.fromTensors([["weight", tf.zeros([hidden, 1])], ["bias", tf.zeros([1])]], { trainable: true })
  return definePlugin({
    name: "arousal-head",
    needs: [Ports.sentenceEmbedding, Ports.vaLabels],
    gives: [arousalLoss],
    parameters: [weights],
    run: ({ sentenceEmbedding, vaLabels }) => {
      const predicted = dense(sentenceEmbedding, weights.get("weight") as tf.Tensor2D, weights.get("bias") as tf.Tensor1D)
      return { "loss.arousal": tf.losses.meanSquaredError(tf.slice(vaLabels, [0, 1], [-1, 1]), predicted) as tf.Scalar }
    }
  })
}

const program = Effect.gen(function* () {
  const config = yield* decodeConfig({ training: { batchSize: 8 }, optimizer: { learningRate: 1e-4 }, model: { maxLength: 32 } })
  const demo = { file: "data/demo/demo-va.csv", textColumn: "text", valenceColumn: "valence", arousalColumn: "arousal", splitColumn: "split", scale: { min: 1, max: 5 } }
  const data = yield* loadTrainingData([demo], { seed: config.seed, skipBadRows: false })
  const graph = {
    name: "mccl+arousal",
    build: (model: Parameters<typeof mcclGraphBuilder>[0]) =>
      mcclGraphBuilder(model, config).add(arousalHead(model.online.hiddenSize)).add(objective({ "loss.mccl": 1, "loss.arousal": 0.5 })).build()
  }
  const small = { ...data, train: data.train.slice(0, 48), dev: data.dev.slice(0, 16), test: data.test.slice(0, 16) }
  const summary = yield* Effect.scoped(
    train(config, { model: "use-lite", data: small, out: "runs/example-custom-head", variant: graph, steps: 4, checkpointEvery: 2, evalEvery: 0, resume: false, progress: "lines", clipGradientNorm: 1, offline: true, evalTrainLimit: 48 })
  )
  yield* Effect.log(`arousal r on test: ${summary.before?.metrics["arousal.pearson"]?.toFixed(3)} → ${summary.after?.metrics["arousal.pearson"]?.toFixed(3)}`)
})

await Effect.runPromise(program.pipe(Effect.provide(Layer.mergeAll(Backend.layer("auto"), Rng.layer(1)))))
