/**
 * The evaluators on synthetic embeddings whose answers are known: separable classes → accuracy 1,
 * random labels → chance, one point per class → alignment 0, points on a line → PCA with all the
 * variance on its first axis. The embeddings reach the evaluators through an embedding function that
 * looks them up, the way `carl eval` serves cached ones.
 */
import assert from "node:assert/strict"
import { before, describe, test } from "node:test"
import * as tf from "@tensorflow/tfjs"
import { SeededRandom } from "../core/random.ts"
import { crossValidatedProbeEvaluator, devProbeEvaluator, heldOutProbeEvaluator } from "../plugins/evaluators/classification-probes.ts"
import { embeddingGeometryEvaluator } from "../plugins/evaluators/embedding-geometry.ts"
import { vaRegressionEvaluator } from "../plugins/evaluators/va-regression.ts"
import { lookupEmbeddings } from "../pipelines/eval/eval-tasks.ts"
import "./support/backends.ts"

interface Synthetic {
  readonly texts: Array<string>
  readonly vectors: Array<Float32Array>
  readonly labels: Array<number>
}

/** `n` examples of `classes` classes: a class centre at `separation` along its own axis, plus unit noise. */
const synthetic = (prefix: string, n: number, classes: number, separation: number, random: SeededRandom, d = 8): Synthetic => {
  const texts: Array<string> = []
  const vectors: Array<Float32Array> = []
  const labels: Array<number> = []
  for (let i = 0; i < n; i++) {
    const label = i % classes
    texts.push(`${prefix} ${i}`)
    labels.push(label)
    vectors.push(Float32Array.from({ length: d }, (_, j) => (j === label ? separation : 0) + random.normal(0, 0.5)))
  }
  return { texts, vectors, labels }
}

const shuffledLabels = (data: Synthetic, random: SeededRandom): Synthetic => ({ ...data, labels: random.shuffle([...data.labels]) })

const tableOf = (...sets: ReadonlyArray<Pick<Synthetic, "texts" | "vectors">>) => lookupEmbeddings(sets)

before(async () => {
  await tf.setBackend("cpu")
})

describe("embedding lookup", () => {
  test("gives back exactly the stored vectors, in input order", () => {
    const data = synthetic("row", 10, 2, 1, new SeededRandom(1))
    const embed = tableOf(data)
    const order = [3, 1, 4, 1, 5, 9, 2, 6]
    const vectors = embed(order.map((i) => data.texts[i] ?? ""))
    order.forEach((i, k) => assert.deepEqual(vectors[k], data.vectors[i]))
  })

  test("an unknown text is an error, not a wrong vector", () => {
    const embed = tableOf(synthetic("known", 2, 2, 1, new SeededRandom(2)))
    assert.throws(() => embed(["unknown"]), /no embedding computed/)
  })
})

describe("polarity probes", () => {
  test("cross-validated (10 folds, λ from inner folds): separable → 1, shuffled labels → chance", () => {
    const random = new SeededRandom(3)
    const separable = synthetic("cv", 200, 2, 4, random)
    const result = crossValidatedProbeEvaluator({ name: "mr", classes: 2, data: separable, seed: 1 }).evaluate(tableOf(separable))
    assert.equal(result.metrics["accuracy"], 1)
    assert.equal(result.metrics["folds"], 10)
    const noise = shuffledLabels(synthetic("cv-noise", 200, 2, 0, random), random)
    const chance = crossValidatedProbeEvaluator({ name: "cr", classes: 2, data: noise, seed: 1 }).evaluate(tableOf(noise))
    const accuracy = chance.metrics["accuracy"] ?? NaN
    assert.ok(Math.abs(accuracy - 0.5) < 0.12, `accuracy ${accuracy} on random labels`)
    const again = crossValidatedProbeEvaluator({ name: "cr", classes: 2, data: noise, seed: 1 }).evaluate(tableOf(noise))
    assert.equal(again.primary, chance.primary, "the seed fixes the folds")
  })

  test("train/dev/test (SST-5 style): 5 separable classes → accuracy and macro F1 of 1; random → about 1/5", () => {
    const random = new SeededRandom(4)
    const [train, dev, test] = [synthetic("tr", 150, 5, 4, random), synthetic("dv", 50, 5, 4, random), synthetic("te", 50, 5, 4, random)]
    const result = devProbeEvaluator({ name: "sst5", classes: 5, train, dev, test }).evaluate(tableOf(train, dev, test))
    assert.equal(result.metrics["accuracy"], 1)
    assert.equal(result.metrics["f1"], 1)
    const noisy = [train, dev, test].map((split) => shuffledLabels(split, random))
    const [noisyTrain, noisyDev, noisyTest] = noisy as [Synthetic, Synthetic, Synthetic]
    const chance = devProbeEvaluator({ name: "sst5", classes: 5, train: noisyTrain, dev: noisyDev, test: noisyTest }).evaluate(tableOf(...noisy))
    const accuracy = chance.metrics["accuracy"] ?? NaN
    assert.ok(accuracy < 0.4, `accuracy ${accuracy} on random labels`)
  })

  test("train/test with a held-out part of train (IMDB style): separable → 1", () => {
    const random = new SeededRandom(5)
    const [train, test] = [synthetic("imdb-tr", 100, 2, 4, random), synthetic("imdb-te", 40, 2, 4, random)]
    const result = heldOutProbeEvaluator({ name: "imdb", classes: 2, train, test, seed: 1 }).evaluate(tableOf(train, test))
    assert.equal(result.metrics["accuracy"], 1)
    assert.equal(result.metrics["heldOut"], 10)
  })
})

describe("VA regression through the table", () => {
  test("vectors that carry valence and arousal linearly: r ≈ 1", () => {
    const random = new SeededRandom(6)
    const split = (prefix: string, n: number) => {
      const valence = Array.from({ length: n }, () => random.next() * 2 - 1)
      const arousal = Array.from({ length: n }, () => random.next() * 2 - 1)
      const texts = valence.map((_, i) => `${prefix} ${i}`)
      const vectors = valence.map((v, i) => Float32Array.from([v, arousal[i] ?? 0, random.normal(0, 1)]))
      return { texts, valence, arousal, vectors }
    }
    const [train, dev, test] = [split("va-tr", 60), split("va-dv", 20), split("va-te", 20)]
    const result = vaRegressionEvaluator({ train, dev, evaluation: test, evaluationName: "test" }).evaluate(tableOf(train, dev, test))
    assert.ok((result.metrics["valence.pearson"] ?? 0) > 0.999)
    assert.ok((result.metrics["arousal.spearman"] ?? 0) > 0.99)
  })
})

describe("embedding geometry", () => {
  test("one point per class: alignment 0; classes on a line: PCA keeps all the variance on its first axis", () => {
    // class k sits at (k, 2k, 0) + (1, 0, 0): different norms, so the normalised points differ per class too.
    const classes = ["a", "b", "c"]
    const texts = Array.from({ length: 12 }, (_, i) => `point ${i}`)
    const labels = texts.map((_, i) => i % 3)
    const vectors = labels.map((k) => Float32Array.from([1 + k, 2 * k, 0]))
    const result = embeddingGeometryEvaluator({ classes, data: { texts, labels }, seed: 1 }).evaluate(tableOf({ texts, vectors }))
    assert.equal(result.metrics["alignment"], 0)
    assert.equal(result.metrics["positivePairs"], 3 * ((4 * 3) / 2))
    assert.equal(result.metrics["uniformityPairs"], (12 * 11) / 2)
    assert.ok(Math.abs(result.pca.explainedVariance[0] - 1) < 1e-9 && Math.abs(result.pca.explainedVariance[1]) < 1e-9)
    // centroids (1,0,0), (2,2,0), (3,4,0): neighbours √5 apart along the line, the ends 2√5
    assert.ok(Math.abs((result.pca.centroidDistances["a|b"] ?? 0) - Math.sqrt(5)) < 1e-6)
    assert.ok(Math.abs((result.pca.centroidDistances["a|c"] ?? 0) - 2 * Math.sqrt(5)) < 1e-6)
    assert.deepEqual(Object.keys(result.pca.centroidDistances), ["a|b", "a|c", "b|c"])
    assert.equal(result.pca.points.length, 12)
    assert.deepEqual(result.pca.points.slice(0, 3).map((point) => point.label), ["a", "b", "c"])
  })

  test("two antipodal points: uniformity −8; the report's points are a seeded subsample", () => {
    const texts = ["up", "down"]
    const vectors = [Float32Array.from([0, 3]), Float32Array.from([0, -1])]
    const result = embeddingGeometryEvaluator({ classes: ["x", "y"], data: { texts, labels: [0, 1] }, seed: 1 }).evaluate(
      tableOf({ texts, vectors })
    )
    assert.ok(Math.abs((result.metrics["uniformity"] ?? NaN) + 8) < 1e-12)
    assert.equal(result.metrics["positivePairs"], 0)

    const random = new SeededRandom(8)
    const many = synthetic("many", 300, 3, 2, random)
    const evaluator = embeddingGeometryEvaluator({ classes: ["a", "b", "c"], data: many, seed: 1, maxPcaPoints: 50, maxUniformityPoints: 40, maxPositivePairs: 100 })
    const sampled = evaluator.evaluate(tableOf(many))
    assert.equal(sampled.pca.points.length, 50)
    assert.equal(sampled.metrics["uniformityPairs"], (40 * 39) / 2)
    assert.equal(sampled.metrics["positivePairs"], 100)
    assert.deepEqual(evaluator.evaluate(tableOf(many)).pca, sampled.pca, "the seed fixes the samples")
  })
})
