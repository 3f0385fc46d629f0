/**
 * Heads and `carl predict`: the readouts are the probes `carl eval` fits, kept; they survive the
 * trip through safetensors + card; the cross-validation of a user's corpus is the ridge it claims
 * to be; and the commands a user runs first work offline out of the repository: predict on base
 * USE-lite with its shipped head, eval of a corpus in the Facebook-posts layout.
 */
import assert from "node:assert/strict"
import { readFileSync } from "node:fs"
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { describe, test } from "node:test"
import { Effect } from "effect"
import { SeededRandom } from "../core/random.ts"
import { fitLogisticRegression, logisticProbabilities } from "../plugins/evaluators/math/logistic-regression.ts"
import { addMoments, fitRidgeFromMoments, fitRidgePath, predictRidge, ridgeMoments } from "../plugins/evaluators/math/ridge-regression.ts"
import { pearson } from "../plugins/evaluators/math/statistics.ts"
import { crossValidatedVa } from "../plugins/evaluators/va-regression.ts"
import { applyReadout, logisticReadout, softmax } from "../plugins/readouts/linear-readout.ts"
import { fitVaHead, readEkmanHead, readVaHead, VA_HEAD, writeHead } from "../plugins/readouts/index.ts"
import { toNominal } from "../plugins/readouts/va-head.ts"
import { formatPredictions, type PredictionRow } from "../pipelines/heads/predict-command.ts"
import { USE_LITE_HEADS } from "../pipelines/heads/model-heads.ts"
import { BUNDLED_EMOBANK } from "../plugins/data/bundled.ts"
import { runCli } from "./support/run-cli.ts"
import { temporaryFolder } from "./support/temp-folder.ts"

const inRoot = temporaryFolder("carl-predict-")

/** n vectors of d dims with labels a known linear function of them plus noise. */
const synthetic = (n: number, d: number, seed: number) => {
  const random = new SeededRandom(seed)
  const w = Array.from({ length: d }, () => random.normal())
  const vectors = Array.from({ length: n }, () => Float32Array.from({ length: d }, () => random.normal()))
  const target = (vector: Float32Array, scale: number) => (scale * vector.reduce((sum, x, j) => sum + x * (w[j] ?? 0), 0)) / Math.sqrt(d) + 0.1 * random.normal()
  return {
    vectors,
    valence: vectors.map((vector) => Math.tanh(target(vector, 0.5))),
    arousal: vectors.map((vector) => Math.tanh(target(vector, -0.3)))
  }
}

describe("readouts", () => {
  test("ridge from added fold moments is the ridge fitted on those rows", () => {
    const data = synthetic(90, 6, 1)
    const parts = [0, 30, 60].map((start) => ridgeMoments(data.vectors.slice(start, start + 30), [data.valence.slice(start, start + 30), data.arousal.slice(start, start + 30)]))
    const rows = data.vectors.slice(0, 60)
    const [direct] = fitRidgePath(rows, data.arousal.slice(0, 60), [0.5])
    const [fromMoments] = fitRidgeFromMoments(addMoments(parts.slice(0, 2)), 1, [0.5])
    assert.ok(direct !== undefined && fromMoments !== undefined)
    fromMoments.weights.forEach((w, j) => assert.ok(Math.abs(w - (direct.weights[j] ?? 0)) < 1e-9, `weight ${j}: ${w} vs ${direct.weights[j]}`))
    assert.ok(Math.abs(fromMoments.intercept - direct.intercept) < 1e-9)
  })

  test("10-fold in-domain VA finds a linear signal, and only a real one", () => {
    const data = synthetic(200, 8, 2)
    const found = crossValidatedVa(data.vectors, data, { folds: 10, random: new SeededRandom(3) })
    assert.ok(found.valence.pearson > 0.8, `valence r ${found.valence.pearson}`)
    assert.ok(found.arousal.pearson > 0.6, `arousal r ${found.arousal.pearson}`)
    const shuffled = [...data.valence]
    new SeededRandom(4).shuffle(shuffled)
    const none = crossValidatedVa(data.vectors, { valence: shuffled, arousal: data.arousal }, { folds: 10, random: new SeededRandom(3) })
    assert.ok(Math.abs(none.valence.pearson) < 0.3, `shuffled labels still give r ${none.valence.pearson}`)
    assert.throws(() => crossValidatedVa(data.vectors.slice(0, 5), data, { folds: 10, random: new SeededRandom(3) }), /too few for 10-fold/)
  })

  test("the logistic readout folds the standardisation in: the same probabilities on raw features", () => {
    const data = synthetic(120, 5, 5)
    const labels = data.valence.map((v) => (v > 0.2 ? 2 : v < -0.2 ? 0 : 1))
    const model = fitLogisticRegression(data.vectors, labels, 3, 0.01)
    const readout = logisticReadout(["a", "b", "c"], model)
    const direct = logisticProbabilities(model, data.vectors.slice(0, 10))
    applyReadout(readout, data.vectors.slice(0, 10)).forEach((scores, i) => {
      softmax(scores).forEach((p, k) => assert.ok(Math.abs(p - (direct[i * 3 + k] ?? 0)) < 1e-9))
    })
  })

  test("a VA head survives safetensors and its card, and refuses weights that do not match the card", async () => {
    const data = synthetic(60, 7, 6)
    const split = (from: number, to: number) => ({ texts: data.vectors.slice(from, to).map((_, i) => `t${from + i}`), valence: data.valence.slice(from, to), arousal: data.arousal.slice(from, to) })
    const table = new Map<string, Float32Array>(data.vectors.map((vector, i) => [`t${i}`, vector]))
    const embed = (texts: ReadonlyArray<string>) => texts.map((text) => table.get(text) as Float32Array)
    const fitted = fitVaHead(embed, { train: split(0, 40), dev: split(40, 50), test: split(50, 60) }, { name: "synthetic", scale: { min: 1, max: 9 } }, { encoder: { model: "m", pooling: "cls", maxLength: 16 }, carl: "test" })
    const dir = inRoot("head")
    await Effect.runPromise(writeHead(dir, VA_HEAD, fitted.readout, fitted.card))
    const read = await Effect.runPromise(readVaHead(dir))
    assert.deepEqual(read.card, fitted.card)
    const before = applyReadout(fitted.readout, data.vectors.slice(50))
    const after = applyReadout(read.readout, data.vectors.slice(50))
    before.forEach((row, i) => row.forEach((value, o) => assert.ok(Math.abs(value - (after[i]?.[o] ?? Number.NaN)) < 1e-5)))
    assert.equal(fitted.card.test?.valence.pearson, pearson(predictRidge({ weights: Float64Array.from(fitted.readout.weight.subarray(0, 7)), intercept: fitted.readout.bias[0] ?? 0 }, data.vectors.slice(50)), data.valence.slice(50)))
    // The card says 7 dimensions; a card that says 8 no longer matches the weights.
    const card = JSON.parse(readFileSync(join(dir, "va-head.json"), "utf8")) as { encoder: { dims: number } }
    card.encoder.dims = 8
    await writeFile(join(dir, "va-head.json"), JSON.stringify(card))
    const failure = await Effect.runPromise(Effect.flip(readVaHead(dir)))
    assert.match(failure.message, /va-head\.safetensors: tensor 'weight' has shape \[2, 7\], the card .* needs \[2, 8\]/)
  })

  test("toNominal inverts Eq. 12", () => {
    assert.equal(toNominal(-1, { min: 1, max: 5 }), 1)
    assert.equal(toNominal(0, { min: 1, max: 9 }), 5)
    assert.equal(toNominal(1, { min: 1, max: 5 }), 5)
  })

  test("the shipped USE-lite heads load and say what they were fitted on", async () => {
    const va = await Effect.runPromise(readVaHead(USE_LITE_HEADS))
    assert.equal(va.card.encoder.model, "use-lite")
    assert.equal(va.card.encoder.dims, 512)
    assert.deepEqual(va.card.corpus.scale, { min: 1, max: 5 })
    assert.match(va.card.corpus.name, /EmoBank/)
    const ekman = await Effect.runPromise(readEkmanHead(USE_LITE_HEADS))
    assert.deepEqual(ekman.card.classes, ["anger", "disgust", "fear", "joy", "sadness", "surprise"])
  })
})

describe("formatPredictions", () => {
  const card = { corpus: { scale: { min: 1, max: 5 } } } as unknown as Parameters<typeof formatPredictions>[1]
  const rows: Array<PredictionRow> = [
    { text: 'a "quoted", text', va: { valence: 0.5, arousal: -0.5 } },
    { text: "plain", va: { valence: 0, arousal: 0 }, emotion: { emotion: "joy", probability: 0.75 } }
  ]
  test("csv quotes what needs quoting and keeps input order; jsonl is one object per line", () => {
    const csv = formatPredictions(rows, card, "csv").split("\n")
    assert.equal(csv[0], "valence,arousal,valence_norm,arousal_norm,emotion,emotion_probability,text")
    assert.equal(csv[1], '4,2,0.5,-0.5,,,"a ""quoted"", text"')
    assert.equal(csv[2], "3,3,0,0,joy,0.75,plain")
    const jsonl = formatPredictions(rows, card, "jsonl").trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>)
    assert.deepEqual(jsonl[0], { text: 'a "quoted", text', valence: 4, arousal: 2, valence_norm: 0.5, arousal_norm: -0.5 })
  })
})

describe("the first commands, offline, from the repository", () => {
  test("carl predict --input - on three sentences: three rows in order, thrilled above devastated", { timeout: 120_000 }, async () => {
    const run = await runCli(["predict", "--input", "-", "--format", "jsonl"], {
      stdin: "I am thrilled about the news\nI am devastated\nThe meeting is at noon\n",
      timeoutMs: 110_000
    })
    assert.equal(run.status, 0, run.stderr)
    const rows = run.stdout.trim().split("\n").map((line) => JSON.parse(line) as { text: string; valence: number; arousal: number; valence_norm: number })
    assert.deepEqual(rows.map((row) => row.text), ["I am thrilled about the news", "I am devastated", "The meeting is at noon"])
    const [thrilled, devastated] = rows
    assert.ok(thrilled !== undefined && devastated !== undefined)
    assert.ok(thrilled.valence > devastated.valence + 0.2, `valence ${thrilled.valence} vs ${devastated.valence}`)
    for (const row of rows) assert.ok(row.valence >= 1 && row.valence <= 5 && Math.abs(toNominal(row.valence_norm, { min: 1, max: 5 }) - row.valence) < 1e-3)
    const table = await runCli(["predict", "--emotion"], { stdin: "I am thrilled about the news\n", timeoutMs: 110_000 })
    assert.equal(table.status, 0, table.stderr)
    assert.match(table.stdout, /valence \(1–5\).*emotion\s+text/)
    assert.match(table.stdout, /joy 0\.\d\d\s+I am thrilled about the news/)
  })

  test("carl eval --va-data on a Facebook-posts-layout file: in-domain and cross-corpus r", { timeout: 300_000 }, async () => {
    // 120 EmoBank test sentences, their rating written twice as two annotators, in the Facebook layout (1–5 here).
    const lines = readFileSync(BUNDLED_EMOBANK, "utf8").trim().split("\n").slice(1).filter((line) => line.includes(",test,")).slice(0, 120)
    const rows = lines.map((line) => {
      const [, , v, a, , ...text] = line.split(",")
      return `"${text.join(",").replace(/^"|"$/g, "").replaceAll('"', '""')}",${v},${v},${a},${a}`
    })
    const file = inRoot("posts.csv")
    await writeFile(file, `Anonymized Message,Valence1,Valence2,Arousal1,Arousal2\n${rows.join("\n")}\n`)
    const run = await runCli(
      ["eval", "--model", "use-lite", "--va-data", file, "--scale", "1,5", "--tasks", "va", "--max-examples", "emobank=300", "--data-dir", inRoot("no-data"), "--cache-dir", inRoot("cache"), "--out", inRoot("va.json"), "--workers", "1"],
      { timeoutMs: 280_000 }
    )
    assert.equal(run.status, 0, run.stderr)
    assert.match(run.stdout, /Table I, posts\.csv: valence and arousal \(120 examples, scale 1–5; in-domain 10-fold, cross-corpus fitted on EmoBank train\)/)
    const results = JSON.parse(readFileSync(inRoot("va.json"), "utf8")) as {
      data: { emobank?: { path: string } }
      models: Array<{ tasks: { va: { corpora: Array<{ crossCorpus: { valence: { pearson: number } }; inDomain: { folds: number } }> } } }>
    }
    const [corpus] = results.models[0]?.tasks.va.corpora ?? []
    assert.equal(corpus?.inDomain.folds, 10)
    assert.ok((corpus?.crossCorpus.valence.pearson ?? 0) > 0.2, `cross-corpus valence r ${corpus?.crossCorpus.valence.pearson}`)
    assert.equal(results.data.emobank?.path, BUNDLED_EMOBANK, "an empty --data-dir falls back to the bundled EmoBank")
  })
})
