/**
 * Dropout as Hugging Face trains with it (core/dropout.ts, the encoders' dropout sites): the share
 * dropped matches the rate and what is kept is scaled by 1/(1 − p), so the expectation is the input;
 * off in evaluation; the same key draws the same masks (GradCache's second forward, a resumed run),
 * another step draws others; BERT reads its rates from config.json, 0.1 when absent as in
 * Hugging Face; and a CARL pass with dropout gives the same result kept on one tape and recomputed
 * micro-batch by micro-batch (both draw each micro-batch's masks from the same key).
 */
import assert from "node:assert/strict"
import { describe, test } from "node:test"
import * as tf from "@tensorflow/tfjs"
import "./support/backends.ts"
import { Effect } from "effect"
import { defaultConfig } from "../plugins/carl/config.ts"
import { dropout, seededDropout } from "../core/dropout.ts"
import { runTrainingPass } from "../core/executor.ts"
import { Ports } from "../plugins/carl/ports.ts"
import { SeededRandom } from "../core/random.ts"
import { parseBertConfig } from "../plugins/encoders/bert/checkpoint.ts"
import { TINY_BERT_CONFIG } from "../plugins/encoders/index.ts"
import { BertEncoder } from "../plugins/encoders/index.ts"
import { carlGraph, createCarlModel, disposeCarlModel } from "../pipelines/carl-graph.ts"
import { syntheticBatch } from "../pipelines/synthetic-batch.ts"

const maxAbs = (a: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(a)).dataSync()[0] ?? 0)

describe("dropout", () => {
  test("drops the rate's share, scales the rest by 1/(1 − p), keeps the mean", async () => {
    await tf.setBackend("cpu")
    const x = tf.ones([200, 500])
    const y = dropout(x, 0.1, seededDropout({ hidden: 0.1, attention: 0 }, [1, 2, 3]))
    const values = y.dataSync()
    const dropped = values.filter((v) => v === 0).length / values.length
    // 100,000 draws: the share's standard deviation is √(0.1·0.9/1e5) ≈ 0.00095; 5 of them.
    assert.ok(Math.abs(dropped - 0.1) < 0.005, `dropped ${dropped}`)
    assert.ok(values.every((v) => v === 0 || Math.abs(v - 1 / 0.9) < 1e-6))
    const mean = tf.mean(y).dataSync()[0] ?? 0
    assert.ok(Math.abs(mean - 1) < 0.006, `mean ${mean}`)
    tf.dispose([x, y])
  })

  test("the same key draws the same masks; another key others; no noise, no dropout", () => {
    const x = tf.ones([30, 40])
    const draw = (key: ReadonlyArray<number>) => dropout(x, 0.3, seededDropout({ hidden: 0.3, attention: 0 }, key))
    const [a, b, c] = [draw([7, 1, 4, 0]), draw([7, 1, 4, 0]), draw([7, 1, 5, 0])]
    assert.deepEqual(a.dataSync(), b.dataSync())
    assert.notDeepEqual(a.dataSync(), c.dataSync())
    assert.equal(dropout(x, 0.3, undefined), x)
    tf.dispose([x, a, b, c])
  })

  test("BERT's config.json names its rates; absent, Hugging Face's 0.1", async () => {
    const base = { model_type: "bert", vocab_size: 10, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 16 }
    const defaults = await Effect.runPromise(parseBertConfig(base, "config.json"))
    assert.equal(defaults.hiddenDropoutProb, 0.1)
    assert.equal(defaults.attentionProbsDropoutProb, 0.1)
    const named = await Effect.runPromise(parseBertConfig({ ...base, hidden_dropout_prob: 0.2, attention_probs_dropout_prob: 0 }, "config.json"))
    assert.deepEqual([named.hiddenDropoutProb, named.attentionProbsDropoutProb], [0.2, 0])
  })

  test("an encoder with dropout: on in training (and different by step), off in evaluation", () => {
    const encoder = BertEncoder.random({ ...TINY_BERT_CONFIG, hiddenDropoutProb: 0.1, attentionProbsDropoutProb: 0.1 }, new SeededRandom(2), { trainable: false })
    const batch = syntheticBatch(new SeededRandom(3), { batchSize: 3, seqLength: 8, vocabSize: 100 })
    tf.tidy(() => {
      const e = encoder.embedTokens(batch.tokenIds)
      const clean = encoder.encode(e, batch.tokenIds, batch.attentionMask)
      const noisy = encoder.encode(e, batch.tokenIds, batch.attentionMask, seededDropout(encoder.dropoutRates, [1, 1, 0, 0]))
      const again = encoder.encode(e, batch.tokenIds, batch.attentionMask, seededDropout(encoder.dropoutRates, [1, 1, 0, 0]))
      const later = encoder.encode(e, batch.tokenIds, batch.attentionMask, seededDropout(encoder.dropoutRates, [1, 1, 1, 0]))
      assert.ok(maxAbs(tf.sub(noisy, clean)) > 1e-3, "dropout changes the hidden states")
      assert.equal(maxAbs(tf.sub(noisy, again)), 0)
      assert.ok(maxAbs(tf.sub(noisy, later)) > 1e-3)
    })
    tf.dispose(Object.values(batch))
    encoder.parameters.dispose()
  })

  test("a CARL pass with dropout: kept on one tape and recomputed per micro-batch give the same", () => {
    const config = { ...defaultConfig(), model: { ...defaultConfig().model, dropout: 0.1, targetDropout: true }, pgd: { ...defaultConfig().pgd, epsilon: 1e-2 } }
    const encoder = BertEncoder.random(TINY_BERT_CONFIG, new SeededRandom(4), { trainable: true })
    const model = createCarlModel(encoder, config, new SeededRandom(5))
    const batch = syntheticBatch(new SeededRandom(6), { batchSize: 6, seqLength: 10, vocabSize: 100 })
    const graph = carlGraph(model, config)
    const run = (memory: "keep" | "recompute") =>
      runTrainingPass(graph, { ...batch }, { step: 3, totalSteps: 10 }, () => {}, { microBatch: 2, lengthMask: Ports.attentionMask.name, memory })
    const kept = run("keep")
    const recomputed = run("recompute")
    for (const port of ["loss.mccl", "loss.ptd"]) {
      const a = kept.values.get(port)?.dataSync()[0] ?? Number.NaN
      const b = recomputed.values.get(port)?.dataSync()[0] ?? Number.NaN
      assert.ok(Math.abs(a - b) <= 1e-5 * Math.abs(a), `${port}: ${a} against ${b}`)
    }
    for (const [variable, gradient] of kept.gradients) {
      const other = recomputed.gradients.get(variable)
      assert.ok(other !== undefined)
      const scale = Math.max(maxAbs(gradient), 1e-3)
      assert.ok(tf.tidy(() => maxAbs(tf.sub(gradient, other))) <= 1e-3 * scale, variable.name)
    }
    kept.dispose()
    recomputed.dispose()
    tf.dispose(Object.values(batch))
    disposeCarlModel(model)
  })
})
