/**
 * A new evaluation task is one file (an Evaluator) plus one line (where it is used). Here: how well
 * a sentence's nearest neighbours in embedding space agree with it on valence (Pearson r of the
 * mean valence of its 5 nearest train sentences against its own, on dev), used to choose the best
 * checkpoint of a short run on the demo corpus. `npx tsx examples/custom-evaluator.ts`
 */
import { Effect, Layer } from "effect"
import { Backend, decodeConfig, loadTrainingData, pearson, Rng, train, type Evaluator } from "../index.ts"

/** The file: texts and labels in, an Evaluator out (it receives an embedding function, never a model). */
const neighbourValence = (train: ReadonlyArray<{ text: string; valence: number }>, dev: ReadonlyArray<{ text: string; valence: number }>, k = 5): Evaluator => ({
  name: "neighbour-valence(dev)",
  primaryMetric: "pearson",
  greaterIsBetter: true,
  evaluate: (embed) => {
    const unit = (vectors: ReadonlyArray<Float32Array>) => vectors.map((v) => v.map((x) => x / Math.max(Math.hypot(...v), 1e-12)))
    const trainVectors = unit(embed(train.map((e) => e.text)))
    const predicted = unit(embed(dev.map((e) => e.text))).map((query) => {
      const nearest = trainVectors
        .map((v, i) => ({ i, similarity: v.reduce((sum, x, d) => sum + x * (query[d] ?? 0), 0) }))
        .sort((a, b) => b.similarity - a.similarity)
        .slice(0, k)
      return nearest.reduce((sum, { i }) => sum + (train[i]?.valence ?? 0), 0) / k
    })
    const r = pearson(predicted, dev.map((e) => e.valence))
    return { metrics: { pearson: r }, primary: r }
  }
})

const program = Effect.gen(function* () {
  const config = yield* decodeConfig({ training: { batchSize: 8 }, optimizer: { learningRate: 1e-4 }, model: { maxLength: 32 } })
  const demo = { file: "data/demo/demo-va.csv", textColumn: "text", valenceColumn: "valence", arousalColumn: "arousal", splitColumn: "split", scale: { min: 1, max: 5 } }
  const data = yield* loadTrainingData([demo], { seed: config.seed, skipBadRows: false })
  const small = { ...data, train: data.train.slice(0, 48), dev: data.dev.slice(0, 16), test: data.test.slice(0, 16) }
  // The one line: the evaluator chooses the best checkpoint (every 2 steps, on dev).
  const selection = [neighbourValence(small.train, small.dev)]
  const summary = yield* Effect.scoped(
    train(config, { model: "use-lite", data: small, out: "runs/example-custom-evaluator", variant: "carl", steps: 4, checkpointEvery: 0, evalEvery: 2, selection, resume: false, progress: "lines", clipGradientNorm: 1, offline: true, evalTrainLimit: 48 })
  )
  yield* Effect.log(`best checkpoint by neighbour valence r: step ${summary.best?.step} (r ${summary.best?.value.toFixed(3)})`)
})

await Effect.runPromise(program.pipe(Effect.provide(Layer.mergeAll(Backend.layer("auto"), Rng.layer(1)))))
