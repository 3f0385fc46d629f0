/**
 * A training pass over micro-batches (GradCache, core/executor.ts), or in segments on one tape,
 * against the same pass on the whole batch: the losses, every weight gradient, ∂L_MCCL/∂e, the saliency selection and the PGD
 * perturbation δ agree to float rounding, for the paper's graph and its variants, with each
 * micro-batch cut to its own longest row. Rounding may only change the selection where two tokens'
 * saliencies tie to float precision, and δ only where the gradient's sign is decided by rounding.
 *
 * Summing rows in another order changes float32 rounding. Some gradients are sums that cancel to
 * (nearly) zero: a bias just before BatchNorm, key biases (softmax ignores a constant), the biases
 * of the CLS path (BatchNorm removes the batch mean); there the rounding noise is all there is.
 * So each gradient is compared against its own scale or, if larger, a twentieth of the largest
 * gradient of the pass, and the gradients of each weight set together against the set's norm.
 */
import assert from "node:assert/strict"
import { test } from "node:test"
import * as tf from "@tensorflow/tfjs"
import { runTrainingPass, type Pass, type PassOptions } from "../core/executor.ts"
import { AdamW } from "../core/adamw.ts"
import { assembleMicroBatches, planMicroBatches, rowLengthsOf, sliceMicroBatch } from "../core/micro-batch.ts"
import { definePlugin } from "../core/plugin.ts"
import { lossPort } from "../core/ports.ts"
import { Ports } from "../plugins/carl/ports.ts"
import { SeededRandom } from "../core/random.ts"
import { trainStep } from "../core/train-step.ts"
import { loadUseLite } from "../plugins/encoders/index.ts"
import { objective } from "../plugins/carl/objective/index.ts"
import { carlGraph, carlGraphBuilder, createCarlModel, disposeCarlModel, type CarlVariant } from "../pipelines/carl-graph.ts"
import type { Graph } from "../core/graph.ts"
import { syntheticBatch } from "../pipelines/synthetic-batch.ts"
import { forEachBackend } from "./support/backends.ts"
import { tinyCarl } from "./support/tiny-carl.ts"

const GRADIENT_PORT = "∂loss.mccl/∂tokenEmbeddings"
const CLOCK = { step: 0, totalSteps: 10 }

const maxAbs = (a: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(a)).dataSync()[0] ?? 0)
const maxAbsDifference = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => maxAbs(tf.sub(a, b)))

const close = (actual: tf.Tensor, expected: tf.Tensor, what: string, relative = 2e-4) => {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`)
  const scale = Math.max(maxAbs(expected), 1e-6)
  const difference = maxAbsDifference(actual, expected)
  assert.ok(difference <= relative * scale + 1e-7, `${what}: differs by ${difference} (scale ${scale})`)
}

/** Rows whose selection differs must have a tie, to float precision, at the selection's edge. */
const assertSameSelection = (actual: tf.Tensor, expected: tf.Tensor, saliency: tf.Tensor) => {
  const a = actual.arraySync() as Array<Array<number>>
  const e = expected.arraySync() as Array<Array<number>>
  const s = saliency.arraySync() as Array<Array<number>>
  e.forEach((row, r) => {
    if (row.every((value, t) => value === a[r]?.[t])) return
    const chosen = row.flatMap((value, t) => (value === 1 ? [s[r]?.[t] ?? 0] : []))
    const left = row.flatMap((value, t) => (value === 0 && (s[r]?.[t] ?? -1) >= 0 ? [s[r]?.[t] ?? 0] : []))
    const edge = Math.min(...chosen) - Math.max(...left)
    assert.ok(Math.abs(edge) <= 1e-4 * Math.max(...chosen), `row ${r}: the selection differs without a tie (gap ${edge})`)
  })
}

/** δ may differ only where the gradient is so small that rounding decides its sign. */
const assertSamePerturbation = (actual: tf.Tensor, expected: tf.Tensor, gradient: tf.Tensor) => {
  const a = actual.dataSync()
  const e = expected.dataSync()
  const g = gradient.dataSync()
  const scale = maxAbs(gradient)
  const epsilon = maxAbs(expected)
  for (let i = 0; i < e.length; i++) {
    if (Math.abs((a[i] ?? 0) - (e[i] ?? 0)) <= 1e-3 * epsilon + 1e-12) continue
    assert.ok(Math.abs(g[i] ?? 0) <= 1e-4 * scale, `δ[${i}] differs (${a[i]} vs ${e[i]}) where ∂L/∂e is ${g[i]}`)
  }
}

const normOf = (tensors: ReadonlyArray<tf.Tensor>): number =>
  Math.sqrt(tensors.reduce((sum, t) => sum + tf.tidy(() => tf.sum(tf.square(t)).dataSync()[0] ?? 0), 0))

const assertSamePass = (actual: Pass, expected: Pass) => {
  for (const [port, value] of expected.values) {
    if (value.rank === 0) close(actual.values.get(port) ?? tf.scalar(Number.NaN), value, port)
  }
  assert.equal(actual.gradients.size, expected.gradients.size, "the same weights receive gradients")
  const largest = Math.max(...[...expected.gradients.values()].map(maxAbs))
  const differences: Array<tf.Tensor> = []
  for (const [variable, gradient] of expected.gradients) {
    const mine = actual.gradients.get(variable)
    assert.ok(mine !== undefined, `a gradient for ${variable.name}`)
    const scale = Math.max(maxAbs(gradient), largest / 20)
    const difference = maxAbsDifference(mine, gradient)
    assert.ok(difference <= 1e-3 * scale + 1e-7, `gradient of ${variable.name}: differs by ${difference} (scale ${scale})`)
    differences.push(tf.sub(mine, gradient))
  }
  const relative = normOf(differences) / normOf([...expected.gradients.values()])
  assert.ok(relative <= 1e-4, `the gradients differ by ${relative} of their norm`)
  tf.dispose(differences)
  const eGradient = expected.values.get(GRADIENT_PORT)
  if (eGradient !== undefined) {
    close(actual.values.get(GRADIENT_PORT) ?? tf.scalar(0), eGradient, GRADIENT_PORT, 1e-3)
    const selected = expected.values.get("perturbedMask")
    const saliency = expected.values.get("saliency")
    if (selected !== undefined && saliency !== undefined) assertSameSelection(actual.values.get("perturbedMask") ?? selected, selected, saliency)
    const delta = expected.values.get("perturbation")
    if (delta !== undefined) assertSamePerturbation(actual.values.get("perturbation") ?? tf.scalar(0), delta, eGradient)
  }
}

/** The pass on the whole batch and on micro-batches of each size, compared; no tensor left behind. */
const comparePasses = (graph: Graph, inputs: Readonly<Record<string, tf.Tensor>>, sizes: ReadonlyArray<number>) => {
  const whole = runTrainingPass(graph, inputs, CLOCK, () => {})
  for (const microBatch of sizes) {
    for (const memory of ["recompute", "keep"] as const) {
      const before = tf.memory().numTensors
      const options: PassOptions = { microBatch, lengthMask: Ports.attentionMask.name, memory }
      const micro = runTrainingPass(graph, inputs, CLOCK, () => {}, options)
      assertSamePass(micro, whole)
      micro.dispose()
      assert.equal(tf.memory().numTensors, before, `micro-batch ${microBatch} (${memory}): no tensor left behind`)
    }
  }
  whole.dispose()
}

forEachBackend("micro-batched training pass", () => {
  test("micro-batches: rows in order, each cut to its longest row, put back with zeros where cut", () => {
    const plan = planMicroBatches(5, 6, 2, [6, 2, 3, 0, 1])
    assert.deepEqual(plan, [
      { start: 0, rows: 2, length: 6 },
      { start: 2, rows: 2, length: 3 },
      { start: 4, rows: 1, length: 1 }
    ])
    assert.deepEqual(rowLengthsOf(tf.tensor2d([[1, 1, 0, 1], [0, 0, 0, 0]])), [4, 0])
    const x = tf.range(0, 5 * 6).reshape([5, 6])
    const parts = plan.map((micro) => sliceMicroBatch(x, micro, true))
    assert.deepEqual(parts[1]?.shape, [2, 3])
    const back = assembleMicroBatches(parts, plan, 6, true).arraySync() as Array<Array<number>>
    assert.deepEqual(back[2], [12, 13, 14, 0, 0, 0])
    assert.deepEqual(back[0], [0, 1, 2, 3, 4, 5])
    tf.dispose([x, ...parts])
  })

  const ragged = (overrides: Parameters<typeof tinyCarl>[0] = {}) => {
    const tiny = tinyCarl({ pgd: { epsilon: 1e-2 }, ...overrides })
    tiny.batch.tokenIds.dispose()
    tiny.batch.attentionMask.dispose()
    tiny.batch.vaLabels.dispose()
    const batch = syntheticBatch(new SeededRandom(11), { batchSize: 7, seqLength: 12, vocabSize: 100 })
    return { ...tiny, batch, inputs: { ...batch } }
  }

  for (const variant of ["carl", "no-ptd", "no-mccl", "plain"] as ReadonlyArray<CarlVariant>) {
    test(`${variant}: micro-batches of 1, 2 and 3 rows give the whole batch's pass`, () => {
      const { model, config, inputs } = ragged()
      comparePasses(carlGraph(model, config, variant), inputs, [1, 2, 3])
      tf.dispose(Object.values(inputs))
      disposeCarlModel(model)
    })
  }

  test("two PGD steps: the gradient at e + δ is taken over micro-batches too", () => {
    const { model, config, inputs } = ragged({ pgd: { epsilon: 0.05, alpha: 0.01, steps: 2 } })
    comparePasses(carlGraph(model, config), inputs, [2, 4])
    tf.dispose(Object.values(inputs))
    disposeCarlModel(model)
  })

  test("a head on the sentence vector beside MCCL keeps ∂L_MCCL/∂e its own", () => {
    const { model, config, inputs } = ragged()
    const extra = definePlugin({
      name: "norm-penalty",
      needs: [Ports.sentenceEmbedding],
      gives: [lossPort("norm", "mean squared sentence vector")],
      run: ({ sentenceEmbedding }) => ({ "loss.norm": tf.mean(tf.square(sentenceEmbedding)) as tf.Scalar })
    })
    const graph = carlGraphBuilder(model, config).add(extra).add(objective({ "loss.mccl": 0.8, "loss.ptd": 0.2, "loss.norm": 0.5 })).build()
    comparePasses(graph, inputs, [3])
    tf.dispose(Object.values(inputs))
    disposeCarlModel(model)
  })

  // AdamW divides by √v: a gradient that is rounding noise (see above) still moves its weight by
  // up to the learning rate per step, so weights are compared to a few learning rates.
  test("training steps on micro-batches move the weights as steps on the whole batch do", () => {
    const runs = [undefined, 2].map((microBatch) => {
      const { model, config, inputs } = ragged({ optimizer: { learningRate: 1e-3 } })
      const graph = carlGraph(model, config)
      const optimizer = new AdamW(config.optimizer)
      const pass = microBatch === undefined ? undefined : { microBatch, lengthMask: Ports.attentionMask.name }
      trainStep(graph, optimizer, inputs, { step: 0, totalSteps: 4 }, pass === undefined ? {} : { pass })
      const afterFirst = tf.memory().numTensors
      trainStep(graph, optimizer, inputs, { step: 1, totalSteps: 4 }, pass === undefined ? {} : { pass })
      assert.equal(tf.memory().numTensors, afterFirst, "a micro-batched step leaks nothing")
      const weights = [model.online.parameters, model.target.parameters, model.tokenHead].flatMap((set) => set.entries().map(([, v]) => v.clone()))
      tf.dispose(Object.values(inputs))
      optimizer.dispose()
      disposeCarlModel(model)
      return weights
    })
    const [whole = [], micro = []] = runs
    whole.forEach((weight, index) => assert.ok(maxAbsDifference(micro[index] as tf.Tensor, weight) <= 4e-3, `weight ${index}`))
    tf.dispose([...whole, ...micro])
  })
})

forEachBackend("micro-batched USE-lite", () => {
  test("USE-lite's CARL pass on micro-batches cut to their rows' lengths equals the whole batch's", async () => {
    const { encoder } = await loadUseLite({ trainable: true })
    const { defaultConfig } = await import("../plugins/carl/config.ts")
    const config = { ...defaultConfig(), pgd: { ...defaultConfig().pgd, epsilon: 1e-2 } }
    const model = createCarlModel(encoder, config, new SeededRandom(5))
    const batch = syntheticBatch(new SeededRandom(12), { batchSize: 6, seqLength: 14, vocabSize: 8000 })
    comparePasses(carlGraph(model, config), { ...batch }, [2, 4])
    tf.dispose(Object.values(batch))
    disposeCarlModel(model)
  })
})
