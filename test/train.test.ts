/**
 * Training runs end to end through the CLI on a tiny BERT: a run interrupted by SIGTERM, or
 * killed with SIGKILL after a checkpoint, and resumed with --resume ends with exactly the weights
 * of an uninterrupted run. In process: the objective falls and no tensor outlives a run.
 */
import assert from "node:assert/strict"
import { readFile, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { before, describe, test } from "node:test"
import * as tf from "@tensorflow/tfjs"
import { Effect, Layer } from "effect"
import { Backend } from "../plugins/backends/index.ts"
import { defaultConfig } from "../plugins/carl/config.ts"
import { Rng } from "../core/rng.ts"
import { SeededRandom } from "../core/random.ts"
import { saveBertDirectory } from "../plugins/encoders/index.ts"
import { TINY_BERT_CONFIG } from "../plugins/encoders/index.ts"
import { BertEncoder } from "../plugins/encoders/index.ts"
import { embedOnce } from "../pipelines/train/evaluation.ts"
import { loadTrainingData } from "../pipelines/train/load-training-data.ts"
import { train } from "../pipelines/train/train.ts"
import { trainOptions, VA_COLUMNS } from "./support/run-options.ts"
import { temporaryFolder } from "./support/temp-folder.ts"
import { exists, finalWeights, labelledSentencesCsv, latestCheckpointStep, REPO_ROOT, startCarl, trainArgs as tinyTrainArgs, waitFor } from "./support/tiny-run.ts"

const TOKENIZER_DIR = join(REPO_ROOT, "..", "shared", "models", "bert-base-uncased-tokenizer")
const STEPS = 40

const inWorkdir = temporaryFolder("carl-train-")
let modelDir = ""
let dataFile = ""

before(async () => {
  modelDir = inWorkdir("tiny-bert")
  dataFile = inWorkdir("fixture.csv")
  await tf.setBackend("cpu")
  const encoder = BertEncoder.random({ ...TINY_BERT_CONFIG, vocabSize: 30522 }, new SeededRandom(9), { trainable: false })
  await Effect.runPromise(saveBertDirectory(encoder, modelDir, { copyFrom: TOKENIZER_DIR }))
  encoder.parameters.dispose()
  // 60 short sentences whose valence follows their words, so there is something to learn.
  await writeFile(dataFile, labelledSentencesCsv(60))
})

const trainArgs = (out: string, ...more: ReadonlyArray<string>) => trainArgsWithSteps(out, STEPS, ...more)

const trainArgsWithSteps = (out: string, steps: number, ...more: ReadonlyArray<string>) =>
  tinyTrainArgs({ modelDir, dataFile, out, steps, checkpointEvery: 10 }, ...more)

/** `node --import tsx <args>`, killed after 3 minutes. */
const start = (args: ReadonlyArray<string>) => startCarl(args, {}, 180_000)

describe("interrupted and resumed runs equal an uninterrupted one", () => {
  let reference: Buffer

  before(async () => {
    const run = start(trainArgs(inWorkdir("reference")))
    const result = await run.finished
    assert.equal(result.status, 0, result.stderr)
    assert.match(result.stdout, /held-out test split/)
    reference = await finalWeights(inWorkdir("reference"))
  })

  test("SIGTERM: the step finishes, a checkpoint is written, the exit is non-zero; --resume completes it", async () => {
    const out = inWorkdir("sigterm")
    const run = start(trainArgs(out))
    await waitFor(async () => (await latestCheckpointStep(out)) >= 10, "the step-10 checkpoint", 120_000)
    run.child.kill("SIGTERM")
    const stopped = await run.finished
    assert.equal(stopped.status, 143, stopped.stderr)
    assert.match(stopped.stderr, /^carl: SIGTERM: stopped after step \d+; checkpoint .*--resume/m)
    assert.equal(await exists(join(out, "final")), false, "the run was stopped before its end")
    const resumed = await start(trainArgs(out, "--resume")).finished
    assert.equal(resumed.status, 0, resumed.stderr)
    assert.match(resumed.stdout, /resumed from .*step-\d+ at step \d+\/40/)
    assert.ok((await finalWeights(out)).equals(reference), "final weights equal the uninterrupted run's")
  })

  test("SIGKILL right after a checkpoint: --resume continues from it", async () => {
    const out = inWorkdir("sigkill")
    const run = start(trainArgs(out))
    await waitFor(async () => (await latestCheckpointStep(out)) >= 20, "the step-20 checkpoint", 120_000)
    run.child.kill("SIGKILL")
    await run.finished
    assert.equal(await exists(join(out, "final")), false, "the run was killed before its end")
    const resumed = await start(trainArgs(out, "--resume")).finished
    assert.equal(resumed.status, 0, resumed.stderr)
    assert.ok((await finalWeights(out)).equals(reference), "final weights equal the uninterrupted run's")
  })

  test("resuming with other options is refused, naming the difference", async () => {
    const result = await start(trainArgsWithSteps(inWorkdir("reference"), 41, "--resume")).finished
    assert.equal(result.status, 1)
    assert.match(result.stderr, /cannot resume: it runs 40 steps, this one 41/)
  })

  test("resuming with other settings is refused, naming the setting and both values", async () => {
    const result = await start(trainArgs(inWorkdir("reference"), "--resume", "--preset", "paper")).finished
    assert.equal(result.status, 1)
    assert.match(result.stderr, /cannot resume: it was trained with objective\.vaRegression 10000, this run has 0; use the same options or another --out/)
  })
})

describe("embedOnce", () => {
  test("each text is embedded once, however the lists overlap; vectors come back in the list's order", () => {
    const calls: Array<ReadonlyArray<string>> = []
    const embed = embedOnce((texts) => {
      calls.push(texts)
      return texts.map((text) => Float32Array.of(text.length))
    })
    const first = embed(["a", "bb"])
    const again = embed(["a", "bb"])
    first.forEach((vector, i) => assert.equal(again[i], vector, "the same vector, not embedded again"))
    const mixed = embed(["ccc", "a", "b", "ccc"])
    assert.deepEqual(mixed.map((vector) => vector[0]), [3, 1, 1, 3])
    assert.equal(mixed[1], first[0])
    assert.deepEqual(calls, [["a", "bb"], ["ccc", "b"]])
  })
})

describe("a run in process", () => {
  test("the objective falls and no tensor outlives the run", async () => {
    const config = {
      ...defaultConfig(),
      training: { ...defaultConfig().training, batchSize: 8, epochs: 1 },
      optimizer: { ...defaultConfig().optimizer, learningRate: 1e-3 },
      model: { ...defaultConfig().model, maxLength: 16 }
    }
    const data = await Effect.runPromise(
      loadTrainingData([{ file: dataFile, ...VA_COLUMNS }], {
        seed: 1,
        skipBadRows: false
      })
    )
    const baseline = tf.memory().numTensors
    const out = inWorkdir("in-process")
    const summary = await Effect.runPromise(
      Effect.scoped(
        train(config, trainOptions({ model: modelDir, data, out, steps: 24, evalTrainLimit: 100 }))
      ).pipe(Effect.provide(Layer.mergeAll(Backend.layer("cpu"), Rng.layer(1))))
    )
    assert.equal(tf.memory().numTensors, baseline, "every tensor of the run was released")
    // The final VA head is the test probe's ridge, on the same embeddings: the same held-out r.
    const finalHead = summary.heads.find((head) => head.dir === summary.finalModel)?.card.test
    for (const dimension of ["valence", "arousal"] as const) {
      const probe = summary.after?.metrics[`${dimension}.pearson`] ?? Number.NaN
      assert.ok(Math.abs((finalHead?.[dimension].pearson ?? Number.NaN) - probe) < 1e-6, `${dimension}: head ${finalHead?.[dimension].pearson}, probe ${probe}`)
    }
    const objectives = (await readFile(join(out, "metrics.jsonl"), "utf8"))
      .split("\n")
      .filter((line) => line.includes('"objective"'))
      .map((line) => (JSON.parse(line) as { objective: number }).objective)
    const first = objectives.slice(0, 4).reduce((a, b) => a + b, 0) / 4
    const last = objectives.slice(-4).reduce((a, b) => a + b, 0) / 4
    assert.ok(last < first, `objective fell: first steps ${first.toFixed(3)}, last steps ${last.toFixed(3)}`)
  })
})
