/**
 * Where a CARL run's drop in L_MCCL came from (docs/RESULTS.md, "the identity shortcut"): L_MCCL, the
 * diagonal's share of P_sim and the loss without the diagonal, on EmoBank's dev split in batches of
 * 128 (no dropout), for
 *   trained              the run's last checkpoint: encoders and heads as trained;
 *   initial + trained heads  the run's model as loaded (USE-lite as shipped, say) for both encoders, the trained heads: if this is as
 *                        low as "trained", the heads took the drop, not the encoder;
 *   initial              the model as loaded and the heads as initialised (the run's seed);
 * and PTD's base rate: the share of tokens saliency selects, and the focal loss of a constant guess.
 *
 *   npx tsx pipelines/results/diagnose-run.ts runs/results/paper-seed1 [emobank.csv] > diagnosis.json
 */
import * as tf from "@tensorflow/tfjs"
import { Effect } from "effect"
import { AdamW } from "../../core/adamw.ts"
import { useBackend } from "../../plugins/backends/index.ts"
import { decodeConfig } from "../../plugins/carl/config.ts"
import { runForward } from "../../core/executor.ts"
import { SeededRandom } from "../../core/random.ts"
import type { Encoder } from "../../plugins/encoders/index.ts"
import { loadTextEncoder } from "../../plugins/encoders/load-text-encoder.ts"
import { carlGraph, carlParameterSets, createCarlModel, disposeCarlModel, type CarlModel } from "../carl-graph.ts"
import { batchOf, tokenizeExamples } from "../train/batches.ts"
import { loadLatestCheckpoint, restoreCheckpoint } from "../train/checkpoint.ts"
import { loadTrainingData } from "../train/load-training-data.ts"
import { readFile } from "node:fs/promises"
import { join } from "node:path"

const run = process.argv[2]
const dataFile = process.argv[3] ?? "data/emobank/emobank.csv"
if (run === undefined) throw new Error("usage: diagnose-run.ts <run folder> [emobank.csv]")
await useBackend("auto")
const runJson = JSON.parse(await readFile(join(run, "run.json"), "utf8")) as { readonly model?: unknown; readonly config: unknown }
const modelName = runJson.model
if (typeof modelName !== "string") throw new Error(`${join(run, "run.json")}: names no model (its "model" field)`)
const config = await Effect.runPromise(decodeConfig(runJson.config, join(run, "run.json")))
const data = await Effect.runPromise(loadTrainingData([{ file: dataFile }], { seed: config.seed, skipBadRows: true }))
// The model the run started from (run.json's --model), from the local cache only.
const load = () => Effect.runPromise(Effect.scoped(loadTextEncoder(modelName, { trainable: true, hub: { offline: true } })))
const text = await load()
const tokenized = tokenizeExamples(text.tokenizer, data.dev, config.model.maxLength)

const measure = (model: CarlModel) => {
  const graph = carlGraph(model, config)
  const totals = { mccl: 0, diagonal: 0, offDiagonal: 0, labelDiagonal: 0, batches: 0 }
  for (let start = 0; start + 128 <= data.dev.length; start += 128) {
    const batch = batchOf(tokenized, Array.from({ length: 128 }, (_, i) => start + i))
    const out = runForward(graph, { ...batch.inputs }, ["loss.mccl", "mccl.diagonalShare", "mccl.offDiagonalLoss", "mccl.labelDiagonalShare"])
    totals.mccl += out["loss.mccl"].dataSync()[0] ?? Number.NaN
    totals.diagonal += out["mccl.diagonalShare"].dataSync()[0] ?? Number.NaN
    totals.offDiagonal += out["mccl.offDiagonalLoss"].dataSync()[0] ?? Number.NaN
    totals.labelDiagonal += out["mccl.labelDiagonalShare"].dataSync()[0] ?? Number.NaN
    totals.batches += 1
    tf.dispose([...Object.values(out), ...Object.values(batch.inputs)])
  }
  const n = totals.batches
  return { loss: totals.mccl / n, diagonalShare: totals.diagonal / n, offDiagonalLoss: totals.offDiagonal / n, labelDiagonalShare: totals.labelDiagonal / n, batches: n }
}

/** A CARL model on `encoder` (a fresh load of the run's model unless given), heads as initialised. */
const fresh = async (encoder?: Encoder) => createCarlModel(encoder ?? (await load()).encoder, config, new SeededRandom(config.seed).fork("heads"))
const restore = async (model: CarlModel) => {
  const loaded = await Effect.runPromise(loadLatestCheckpoint(run))
  const optimizer = new AdamW()
  await Effect.runPromise(restoreCheckpoint(loaded, carlParameterSets(model), optimizer))
  optimizer.dispose()
}

// The first load (it gave the tokenizer) carries the trained model; the other two load afresh.
const trained = await fresh(text.encoder)
await restore(trained)
const initial = await fresh()
const mixed = await fresh()
// The trained heads on the encoders as loaded.
for (const name of ["projection", "targetProjection", "prediction"] as const) {
  for (const [key, variable] of trained[name].entries()) mixed[name].get(key).assign(variable)
}
// PTD's base rate on these sentences: the share of real tokens saliency selects (Eq. 7: the top
// ⌈fraction·n⌉ of each sentence, at least one), and the least focal loss (Eq. 10) a head reaches
// that gives every token the same probability: a PTD loss above it has learned nothing per token.
const selected = tokenized.rows.reduce((sum, row) => sum + Math.max(1, Math.ceil(config.saliency.topFraction * row.length - 1e-9)), 0)
const positiveShare = selected / tokenized.rows.reduce((sum, row) => sum + row.length, 0)
const focalOfConstant = (p: number) =>
  positiveShare * (1 - p) ** config.ptd.gamma * -Math.log(p) + (1 - positiveShare) * p ** config.ptd.gamma * -Math.log(1 - p)
const constant = Array.from({ length: 9999 }, (_, i) => (i + 1) / 10000).reduce((best, p) => (focalOfConstant(p) < focalOfConstant(best) ? p : best))
const ptdBaseRate = { positiveShare, constantFocalFloor: focalOfConstant(constant), atProbability: constant }

const result = { run, trained: measure(trained), initialWithTrainedHeads: measure(mixed), initial: measure(initial), ptdBaseRate }
console.log(JSON.stringify(result, null, 2))
for (const model of [trained, initial, mixed]) disposeCarlModel(model)
