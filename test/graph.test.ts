/**
 * Wiring checks. The `@ts-expect-error` lines are the compile-time proof: `npm test` runs the
 * type checker first, and it fails if any of those lines stops being an error. The same lines
 * then run, and the run-time check must reject them too, naming the port and the plugin.
 */
import assert from "node:assert/strict"
import { describe, test } from "node:test"
import * as tf from "@tensorflow/tfjs"
import { Result } from "effect"
import { GraphWiringError } from "../core/errors.ts"
import { assembleGraph, GraphBuilder } from "../core/graph.ts"
import { ParameterSet } from "../core/parameters.ts"
import { definePlugin, withPorts, type AnyPlugin } from "../core/plugin.ts"
import { definePort, lossPort } from "../core/ports.ts"
import { Ports } from "../plugins/carl/ports.ts"
import { SeededRandom } from "../core/random.ts"
import { embedTokens, encode, pool } from "../plugins/carl/encoder.ts"
import { TINY_BERT_CONFIG } from "../plugins/encoders/index.ts"
import { BertEncoder } from "../plugins/encoders/index.ts"
import { mlpHead, initMlpHead } from "../plugins/carl/heads/index.ts"
import { mccl } from "../plugins/carl/mccl/index.ts"
import { objective } from "../plugins/carl/objective/index.ts"
import { saliencySelection } from "../plugins/carl/saliency-pgd/index.ts"
import "./support/backends.ts"

await tf.setBackend("cpu")
const encoder = BertEncoder.random(TINY_BERT_CONFIG, new SeededRandom(1), { trainable: true })

const rejects = (build: () => unknown, port: string, plugin: string) =>
  assert.throws(build, (error: unknown) => {
    assert.ok(error instanceof GraphWiringError, `expected a GraphWiringError, got ${String(error)}`)
    assert.equal(error.port, port)
    assert.equal(error.plugin, plugin)
    assert.ok(error.message.includes(`'${port}'`) && error.message.includes(`'${plugin}'`), error.message)
    return true
  })

describe("compile-time and run-time wiring checks", () => {
  test("a plugin whose needs are not given upstream", () => {
    rejects(
      () =>
        GraphBuilder.from(Ports.tokenIds, Ports.vaLabels)
          // @ts-expect-error mccl needs onlinePrediction and targetEmbedding, which nothing gives
          .add(mccl())
          .build(),
      "onlinePrediction",
      "mccl"
    )
  })

  test("a port whose tensor type differs upstream", () => {
    const flatEmbeddings = definePort("tokenEmbeddings", 2, "float32", "[batch, hidden] (wrong rank)")
    rejects(
      () =>
        GraphBuilder.from(flatEmbeddings, Ports.tokenIds, Ports.attentionMask)
          // @ts-expect-error encode needs tokenEmbeddings of rank 3, the input gives rank 2
          .add(encode(encoder))
          .build(),
      "tokenEmbeddings",
      "encode"
    )
  })

  test("a port given twice", () => {
    rejects(
      () =>
        GraphBuilder.from(Ports.tokenIds)
          .add(embedTokens(encoder))
          // @ts-expect-error tokenEmbeddings is already given by embed-tokens
          .add(embedTokens(encoder, "embed-again"))
          .build(),
      "tokenEmbeddings",
      "embed-again"
    )
  })

  test("a gradient port whose loss is not given upstream", () => {
    rejects(
      () =>
        GraphBuilder.from(Ports.tokenIds, Ports.attentionMask)
          .add(embedTokens(encoder))
          // @ts-expect-error ∂loss.mccl/∂tokenEmbeddings needs loss.mccl upstream
          .add(saliencySelection())
          .build(),
      "∂loss.mccl/∂tokenEmbeddings",
      "saliency"
    )
  })

  test("a well-wired graph compiles and builds", () => {
    const random = new SeededRandom(2)
    const head = initMlpHead(random, { inFeatures: 32, hiddenFeatures: 32, outFeatures: 8 }, { trainable: true })
    const graph = GraphBuilder.from(Ports.tokenIds, Ports.attentionMask)
      .add(embedTokens(encoder))
      .add(encode(encoder))
      .add(pool(encoder, "cls"))
      .add(mlpHead({ name: "projection", parameters: head, input: Ports.sentenceEmbedding, output: Ports.onlineProjection }))
      .build()
    assert.deepEqual(
      graph.plugins.map((plugin) => plugin.name),
      ["embed-tokens", "encode", "pool-cls", "projection"]
    )
    head.dispose()
  })
})

describe("graphs assembled from configuration", () => {
  const plugins: Record<string, AnyPlugin> = {
    embed: embedTokens(encoder) as unknown as AnyPlugin,
    encode: encode(encoder) as unknown as AnyPlugin,
    pool: pool(encoder, "mean") as unknown as AnyPlugin
  }
  const assemble = (names: ReadonlyArray<string>) =>
    assembleGraph(
      [Ports.tokenIds, Ports.attentionMask],
      names.map((name) => plugins[name] as AnyPlugin)
    )

  test("in order, the plugins assemble", () => {
    assert.ok(Result.isSuccess(assemble(["embed", "encode", "pool"])))
  })

  test("out of order, the error names the missing port and the plugin that needs it", () => {
    const assembled = assemble(["embed", "pool", "encode"])
    assert.ok(Result.isFailure(assembled))
    assert.equal(assembled.failure.port, "hiddenStates")
    assert.equal(assembled.failure.plugin, "pool-mean")
    assert.match(assembled.failure.message, /no input or upstream plugin gives/)
  })

  test("a loss the objective does not weight is an error", () => {
    const custom = definePlugin({
      name: "custom",
      needs: [Ports.tokenEmbeddings],
      gives: [lossPort("custom", "a loss")],
      run: ({ tokenEmbeddings }) => ({ "loss.custom": tf.mean(tokenEmbeddings) as tf.Scalar })
    }) as unknown as AnyPlugin
    const weighted = objective({ "loss.other": 1 }) as unknown as AnyPlugin
    const assembled = assembleGraph([Ports.tokenIds], [plugins["embed"] as AnyPlugin, custom, weighted])
    assert.ok(Result.isFailure(assembled))
    assert.equal(assembled.failure.port, "loss.other")
    const unweighted = assembleGraph([Ports.tokenIds], [plugins["embed"] as AnyPlugin, custom, objective({ "loss.custom": 1 }) as unknown as AnyPlugin])
    assert.ok(Result.isSuccess(unweighted))
  })

  test("the objective must come last", () => {
    const assembled = assembleGraph(
      [Ports.tokenIds, Ports.attentionMask],
      [objective({}) as unknown as AnyPlugin, plugins["embed"] as AnyPlugin]
    )
    assert.ok(Result.isFailure(assembled))
    assert.match(assembled.failure.message, /objective plugin must be added last/)
  })

  test("withPorts refuses a port of another rank and renames consistently", () => {
    assert.throws(() => withPorts(encode(encoder), { hiddenStates: Ports.sentenceEmbedding }), /rank 3/)
    const renamed = withPorts(encode(encoder), { hiddenStates: Ports.perturbedHiddenStates })
    assert.deepEqual(
      renamed.gives.map((port) => port.name),
      ["perturbedHiddenStates"]
    )
    const weights = ParameterSet.fromTensors([], { trainable: true })
    assert.equal(weights.count(), 0)
  })
})
