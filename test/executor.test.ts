/**
 * The staged executor against a CARL step written directly, without the graph, the way
 * pipelines/bench/peer/torch_carl.py writes it: the gradients of 0.8·MCCL and of 0.2·PTD on e + δ,
 * summed. Equal gradients mean the stages, the saliency hook, the recomputed word embeddings
 * of the PTD stage, and the separate backward pass all do what core/executor.ts says.
 */
import assert from "node:assert/strict"
import { test } from "node:test"
import * as tf from "@tensorflow/tfjs"
import { runForward, runTrainingPass, trainingStages } from "../core/executor.ts"
import { GraphRunError } from "../core/errors.ts"
import { AdamW } from "../core/adamw.ts"
import { trainStep } from "../core/train-step.ts"
import { definePlugin } from "../core/plugin.ts"
import { lossPort } from "../core/ports.ts"
import { Ports } from "../plugins/carl/ports.ts"
import { mlpHeadForward } from "../plugins/carl/heads/index.ts"
import { mcclLoss } from "../plugins/carl/mccl/index.ts"
import { objective } from "../plugins/carl/objective/index.ts"
import { focalBinaryLoss, tokenHeadLogits } from "../plugins/carl/ptd/index.ts"
import { pgdPerturbation, selectTopTokens, tokenSaliency } from "../plugins/carl/saliency-pgd/index.ts"
import { carlGraph, carlGraphBuilder, disposeCarlModel, type CarlModel } from "../pipelines/carl-graph.ts"
import type { CarlConfig } from "../plugins/carl/config.ts"
import type { CarlBatch } from "../pipelines/carl-graph.ts"
import { forEachBackend } from "./support/backends.ts"
import { tinyCarl } from "./support/tiny-carl.ts"

const GRADIENT_PORT = "∂loss.mccl/∂tokenEmbeddings"

const trainableVariables = (model: CarlModel): Array<tf.Variable> =>
  [model.online.parameters, model.projection, model.prediction, model.tokenHead].flatMap((set) =>
    set.entries().map(([, variable]) => variable)
  )

/** The direct CARL step: returns the summed weight gradients, ∂L_MCCL/∂e, the selection and δ. */
const directCarlStep = (model: CarlModel, config: CarlConfig, batch: CarlBatch, weights = config.objective) => {
  const { tokenIds, attentionMask, vaLabels } = batch
  const pooling = config.model.pooling
  const variables = trainableVariables(model)
  const targetZ = tf.tidy(() => {
    const e = model.target.embedTokens(tokenIds)
    const hidden = model.target.encode(e, tokenIds, attentionMask)
    return mlpHeadForward(model.targetProjection, model.target.pool(hidden, attentionMask, pooling))
  })
  const mcclFrom = (e: tf.Tensor3D) => {
    const hidden = model.online.encode(e, tokenIds, attentionMask)
    const p = mlpHeadForward(model.prediction, mlpHeadForward(model.projection, model.online.pool(hidden, attentionMask, pooling)))
    return mcclLoss(p, targetZ, vaLabels, config.mccl)
  }
  const grads = new Map<tf.Variable, tf.Tensor>()
  const accumulate = (named: tf.NamedTensorMap) => {
    for (const variable of variables) {
      const gradient = named[variable.name]
      if (gradient === undefined) continue
      const previous = grads.get(variable)
      grads.set(variable, previous === undefined ? gradient : tf.add(previous, gradient))
    }
  }
  if (weights.mccl !== 0) {
    accumulate(tf.variableGrads(() => tf.mul(mcclFrom(model.online.embedTokens(tokenIds)), weights.mccl) as tf.Scalar, variables).grads)
  }
  const e0 = model.online.embedTokens(tokenIds)
  const eGradient = tf.grad((e: tf.Tensor) => mcclFrom(e as tf.Tensor3D))(e0) as tf.Tensor3D
  const selected = selectTopTokens(tokenSaliency(eGradient, attentionMask), attentionMask, config.saliency.topFraction)
  const delta = pgdPerturbation(
    e0,
    eGradient,
    selected,
    (perturbed) => tf.grad((e: tf.Tensor) => mcclFrom(e as tf.Tensor3D))(perturbed) as tf.Tensor3D,
    config.pgd
  )
  accumulate(
    tf.variableGrads(() => {
      const perturbed = tf.add(model.online.embedTokens(tokenIds), delta) as tf.Tensor3D
      const logits = tokenHeadLogits(model.tokenHead, model.online.encode(perturbed, tokenIds, attentionMask))
      return tf.mul(focalBinaryLoss(logits, selected, attentionMask, { gamma: config.ptd.gamma }), weights.ptd) as tf.Scalar
    }, variables).grads
  )
  return { grads, eGradient, selected, delta }
}

const maxAbsDifference = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] ?? Infinity)
const maxAbs = (a: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(a)).dataSync()[0] ?? 0)

const assertSameGradients = (actual: ReadonlyMap<tf.Variable, tf.Tensor>, expected: ReadonlyMap<tf.Variable, tf.Tensor>) => {
  assert.equal(actual.size, expected.size, "the same weights receive gradients")
  for (const [variable, gradient] of expected) {
    const mine = actual.get(variable)
    assert.ok(mine !== undefined, `graph gives a gradient for ${variable.name}`)
    const scale = Math.max(maxAbs(gradient), 1e-6)
    assert.ok(maxAbsDifference(mine, gradient) <= 1e-4 * scale + 1e-7, `${variable.name}: graph and direct gradients differ`)
  }
}

forEachBackend("training pass", () => {
  test("stages: MCCL and everything before it in stage 0, the PGD/PTD branch in stage 1", () => {
    const { model, config } = tinyCarl()
    const stages = new Map(trainingStages(carlGraph(model, config)).map((s) => [s.plugin, s.stage]))
    assert.equal(stages.get("mccl"), 0)
    assert.equal(stages.get("saliency"), 1)
    assert.equal(stages.get("ptd"), 1)
    disposeCarlModel(model)
  })

  test("gradients equal a direct CARL step's (hooked saliency, recomputed word embeddings)", () => {
    const { model, config, batch, inputs } = tinyCarl({ pgd: { epsilon: 1e-2 } })
    const graph = carlGraph(model, config)
    const pass = runTrainingPass(graph, inputs, { step: 0, totalSteps: 10 }, () => {})
    tf.tidy(() => {
      const direct = directCarlStep(model, config, batch)
      assertSameGradients(pass.gradients, direct.grads)
      const eGradient = pass.values.get(GRADIENT_PORT)
      assert.ok(eGradient !== undefined)
      assert.ok(maxAbsDifference(eGradient, direct.eGradient) <= 1e-4 * maxAbs(direct.eGradient))
      assert.deepEqual(pass.values.get("perturbedMask")?.arraySync(), direct.selected.arraySync())
      assert.ok(maxAbsDifference(pass.values.get("perturbation") ?? tf.scalar(1), direct.delta) <= 1e-7)
      // The word embeddings get PTD's gradient too: it is not zero where only stage 1 reaches.
      const wordTable = model.online.parameters.get("embeddings.word_embeddings.weight")
      assert.ok(maxAbs(pass.gradients.get(wordTable) ?? tf.scalar(0)) > 0)
    })
    pass.dispose()
    disposeCarlModel(model)
  })

  test("λ_MCCL = 0: the gradient port comes from a separate backward pass and is still ∂L_MCCL/∂e", () => {
    const { model, config, batch, inputs } = tinyCarl({ objective: { mccl: 0 }, pgd: { epsilon: 1e-2 } })
    const pass = runTrainingPass(carlGraph(model, config), inputs, { step: 0, totalSteps: 10 }, () => {})
    tf.tidy(() => {
      const direct = directCarlStep(model, config, batch)
      assert.ok(maxAbs(direct.eGradient) > 0)
      assert.ok(maxAbsDifference(pass.values.get(GRADIENT_PORT) ?? tf.scalar(1), direct.eGradient) <= 1e-4 * maxAbs(direct.eGradient))
      assertSameGradients(pass.gradients, direct.grads)
    })
    pass.dispose()
    disposeCarlModel(model)
  })

  test("a head sharing stage 0 with MCCL does not leak into ∂L_MCCL/∂e", () => {
    const { model, config, batch, inputs } = tinyCarl({ pgd: { epsilon: 1e-2 } })
    const extra = definePlugin({
      name: "norm-penalty",
      needs: [Ports.sentenceEmbedding],
      gives: [lossPort("norm", "mean squared sentence vector")],
      run: ({ sentenceEmbedding }) => ({ "loss.norm": tf.mean(tf.square(sentenceEmbedding)) as tf.Scalar })
    })
    const graph = carlGraphBuilder(model, config)
      .add(extra)
      .add(objective({ "loss.mccl": 0.8, "loss.ptd": 0.2, "loss.norm": 0.5 }))
      .build()
    const pass = runTrainingPass(graph, inputs, { step: 0, totalSteps: 10 }, () => {})
    tf.tidy(() => {
      const direct = directCarlStep(model, config, batch)
      assert.ok(maxAbsDifference(pass.values.get(GRADIENT_PORT) ?? tf.scalar(1), direct.eGradient) <= 1e-4 * maxAbs(direct.eGradient))
      assert.ok((pass.values.get("loss.norm")?.dataSync()[0] ?? 0) > 0)
    })
    pass.dispose()
    disposeCarlModel(model)
  })

  test("two PGD steps recompute the loss at e + δ and match the direct computation", () => {
    const { model, config, batch, inputs } = tinyCarl({ pgd: { epsilon: 0.05, alpha: 0.01, steps: 2 } })
    const pass = runTrainingPass(carlGraph(model, config), inputs, { step: 0, totalSteps: 10 }, () => {})
    tf.tidy(() => {
      const direct = directCarlStep(model, config, batch)
      assert.ok(maxAbsDifference(pass.values.get("perturbation") ?? tf.scalar(1), direct.delta) <= 1e-6)
      assertSameGradients(pass.gradients, direct.grads)
    })
    pass.dispose()
    disposeCarlModel(model)
  })

  test("a forward run computes only what the outputs need and refuses gradient readers", () => {
    const { model, config, inputs } = tinyCarl()
    const graph = carlGraph(model, config)
    const before = tf.memory().numTensors
    const { sentenceEmbedding } = runForward(graph, inputs, ["sentenceEmbedding"])
    assert.deepEqual(sentenceEmbedding.shape, [6, model.online.hiddenSize])
    sentenceEmbedding.dispose()
    assert.equal(tf.memory().numTensors, before, "a forward run leaves only its outputs")
    assert.throws(() => runForward(graph, inputs, ["perturbedMask"]), (error: unknown) => error instanceof GraphRunError && /saliency/.test(error.message))
    disposeCarlModel(model)
  })

  test("training steps leak no tensors and the momentum target moves", () => {
    const { model, config, inputs } = tinyCarl({ optimizer: { learningRate: 1e-3 }, momentum: { initial: 0.5 } })
    const graph = carlGraph(model, config)
    const optimizer = new AdamW(config.optimizer)
    const targetWeight = model.target.parameters.get("pooler.dense.weight")
    const targetBefore = targetWeight.clone()
    trainStep(graph, optimizer, inputs, { step: 0, totalSteps: 20 })
    const afterFirst = tf.memory().numTensors
    for (let step = 1; step < 5; step++) trainStep(graph, optimizer, inputs, { step, totalSteps: 20 })
    assert.equal(tf.memory().numTensors, afterFirst, "no tensor is left behind by a step")
    assert.ok(maxAbsDifference(targetWeight, targetBefore) > 0, "the target encoder follows the online one (Eq. 1)")
    targetBefore.dispose()
    optimizer.dispose()
    disposeCarlModel(model)
  })

  test("gradient norms of weight groups: the encoder's and the heads' make up the global norm", () => {
    const { model, config, inputs } = tinyCarl()
    const graph = carlGraph(model, config)
    const optimizer = new AdamW(config.optimizer)
    const encoder = new Set(model.online.parameters.entries().map(([, variable]) => variable))
    const heads = new Set(
      [model.projection, model.prediction, model.tokenHead].flatMap((set) => set.entries().map(([, variable]) => variable))
    )
    const gradientGroups = { encoder, heads }
    const { scalars } = trainStep(graph, optimizer, inputs, { step: 0, totalSteps: 4 }, { gradientGroups })
    const [total, ofEncoder, ofHeads] = [scalars["gradientNorm"] ?? NaN, scalars["gradientNorm.encoder"] ?? NaN, scalars["gradientNorm.heads"] ?? NaN]
    assert.ok(ofEncoder > 0 && ofHeads > 0, `both groups get gradient: ${ofEncoder}, ${ofHeads}`)
    assert.ok(Math.abs(Math.hypot(ofEncoder, ofHeads) - total) <= 1e-4 * total, `‖g_encoder‖² + ‖g_heads‖² = ‖g‖²: ${ofEncoder}, ${ofHeads}, ${total}`)
    const afterFirst = tf.memory().numTensors
    trainStep(graph, optimizer, inputs, { step: 1, totalSteps: 4 }, { gradientGroups })
    assert.equal(tf.memory().numTensors, afterFirst, "the group norms leave no tensor behind")
    optimizer.dispose()
    disposeCarlModel(model)
  })

  test("the objective falls over training steps on a fixed batch", () => {
    const { model, config, inputs } = tinyCarl({ optimizer: { learningRate: 1e-3 } })
    const graph = carlGraph(model, config)
    const optimizer = new AdamW(config.optimizer)
    const objectives: Array<number> = []
    for (let step = 0; step < 8; step++) objectives.push(trainStep(graph, optimizer, inputs, { step, totalSteps: 8 }).scalars["objective"] ?? NaN)
    assert.ok((objectives.at(-1) ?? Infinity) < (objectives[0] ?? 0) * 0.8, `objective fell: ${objectives.join(", ")}`)
    optimizer.dispose()
    disposeCarlModel(model)
  })

  test("a NaN label stops the step: finite is false and no weight changes", () => {
    const { model, config, batch } = tinyCarl()
    const graph = carlGraph(model, config)
    const optimizer = new AdamW(config.optimizer)
    const labels = batch.vaLabels.arraySync()
    labels[0] = [Number.NaN, 0]
    const vaLabels = tf.tensor2d(labels)
    const weight = model.online.parameters.get("pooler.dense.weight")
    const before = weight.clone()
    const report = trainStep(graph, optimizer, { ...batch, vaLabels }, { step: 0, totalSteps: 4 })
    assert.equal(report.finite, false)
    assert.equal(maxAbsDifference(weight, before), 0)
    tf.dispose([vaLabels, before])
    optimizer.dispose()
    disposeCarlModel(model)
  })
})
