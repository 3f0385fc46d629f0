/**
 * Training runs end to end through the CLI on a tiny BERT: a run interrupted by SIGTERM, or
 * killed with SIGKILL after a checkpoint, and resumed with --resume ends with exactly the weights
 * of an uninterrupted run. In process: the objective falls and no tensor outlives a run.
 */
import assert from "node:assert/strict"
import { spawn, type ChildProcess } from "node:child_process"
import { access, mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { after, before, describe, test } from "node:test"
import * as tf from "@tensorflow/tfjs"
import { Effect, Layer } from "effect"
import { Backend } from "../core/backend.ts"
import { defaultConfig } from "../core/config.ts"
import { Rng } from "../core/rng.ts"
import { SeededRandom } from "../core/random.ts"
import { BertEncoder, saveBertDirectory, TINY_BERT_CONFIG } from "../plugins/encoder/index.ts"
import { loadTrainingData } from "../pipelines/train/load-training-data.ts"
import { train } from "../pipelines/train/train.ts"

const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url))
const TOKENIZER_DIR = join(REPO_ROOT, "..", "shared", "models", "bert-base-uncased-tokenizer")
const STEPS = 40

let workdir = ""
let modelDir = ""
let dataFile = ""

/** 60 short sentences whose valence follows their words, so there is something to learn. */
const fixtureCsv = (): string => {
  const random = new SeededRandom(11)
  const good = ["wonderful", "lovely", "great", "happy", "calm"]
  const bad = ["awful", "terrible", "sad", "angry", "boring"]
  const things = ["movie", "dinner", "trip", "weekend", "class", "game"]
  const rows = ["text,v,a"]
  for (let i = 0; i < 60; i++) {
    const positive = i % 2 === 0
    const word = (positive ? good : bad)[random.int(5)] ?? "fine"
    const thing = things[random.int(things.length)] ?? "day"
    rows.push(`"The ${thing} was ${word}, number ${i}.",${positive ? 4 : 2}.${random.int(10)},${1 + random.int(4)}.${random.int(10)}`)
  }
  return `${rows.join("\n")}\n`
}

before(async () => {
  workdir = await mkdtemp(join(tmpdir(), "carl-train-"))
  modelDir = join(workdir, "tiny-bert")
  dataFile = join(workdir, "fixture.csv")
  await tf.setBackend("cpu")
  const encoder = BertEncoder.random({ ...TINY_BERT_CONFIG, vocabSize: 30522 }, new SeededRandom(9), { trainable: false })
  await Effect.runPromise(saveBertDirectory(encoder, modelDir, { copyFrom: TOKENIZER_DIR }))
  encoder.parameters.dispose()
  await writeFile(dataFile, fixtureCsv())
})

after(async () => {
  await rm(workdir, { recursive: true, force: true })
})

const trainArgs = (out: string, ...more: ReadonlyArray<string>) => trainArgsWithSteps(out, STEPS, ...more)

const trainArgsWithSteps = (out: string, steps: number, ...more: ReadonlyArray<string>) => [
  "bin/carl.ts",
  "train",
  "--backend",
  "cpu",
  "--model",
  modelDir,
  "--data",
  dataFile,
  "--text-column",
  "text",
  "--valence-column",
  "v",
  "--arousal-column",
  "a",
  "--scale",
  "1,5",
  "--steps",
  String(steps),
  "--batch-size",
  "8",
  "--lr",
  "1e-3",
  "--max-length",
  "16",
  "--checkpoint-every",
  "10",
  "--no-progress",
  "--out",
  out,
  ...more
]

interface Finished {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

const start = (args: ReadonlyArray<string>): { child: ChildProcess; finished: Promise<Finished> } => {
  const child = spawn(process.execPath, ["--import", "tsx", ...args], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"], timeout: 180_000 })
  let stdout = ""
  let stderr = ""
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
  const finished = new Promise<Finished>((resolve, reject) => {
    child.on("error", reject)
    child.on("close", (status) => resolve({ status, stdout, stderr }))
  })
  return { child, finished }
}

const exists = (path: string) => access(path).then(() => true, () => false)

/** Waits until `ready()` holds, polling; fails the test after `ms`. */
const waitFor = async (ready: () => Promise<boolean>, what: string, ms = 120_000) => {
  const deadline = Date.now() + ms
  while (!(await ready())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

const latestCheckpointStep = async (out: string): Promise<number> => {
  const text = await readFile(join(out, "checkpoints", "latest"), "utf8").catch(() => "")
  const match = /step-(\d+)/.exec(text)
  return match === null ? -1 : Number(match[1])
}

const finalWeights = (out: string) => readFile(join(out, "final", "model.safetensors"))

describe("interrupted and resumed runs equal an uninterrupted one", () => {
  let reference: Buffer

  before(async () => {
    const run = start(trainArgs(join(workdir, "reference")))
    const result = await run.finished
    assert.equal(result.status, 0, result.stderr)
    assert.match(result.stdout, /held-out test split/)
    reference = await finalWeights(join(workdir, "reference"))
  })

  test("SIGTERM: the step finishes, a checkpoint is written, the exit is non-zero; --resume completes it", async () => {
    const out = join(workdir, "sigterm")
    const run = start(trainArgs(out))
    await waitFor(async () => (await latestCheckpointStep(out)) >= 10, "the step-10 checkpoint")
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
    const out = join(workdir, "sigkill")
    const run = start(trainArgs(out))
    await waitFor(async () => (await latestCheckpointStep(out)) >= 20, "the step-20 checkpoint")
    run.child.kill("SIGKILL")
    await run.finished
    assert.equal(await exists(join(out, "final")), false, "the run was killed before its end")
    const resumed = await start(trainArgs(out, "--resume")).finished
    assert.equal(resumed.status, 0, resumed.stderr)
    assert.ok((await finalWeights(out)).equals(reference), "final weights equal the uninterrupted run's")
  })

  test("resuming with other options is refused, naming the difference", async () => {
    const result = await start(trainArgsWithSteps(join(workdir, "reference"), 41, "--resume")).finished
    assert.equal(result.status, 1)
    assert.match(result.stderr, /cannot resume: it runs 40 steps, this one 41/)
  })
})

describe("a run in process", () => {
  test("the objective falls and no tensor outlives the run", async () => {
    const config = {
      ...defaultConfig(),
      training: { batchSize: 8, epochs: 1 },
      optimizer: { ...defaultConfig().optimizer, learningRate: 1e-3 },
      model: { ...defaultConfig().model, maxLength: 16 }
    }
    const data = await Effect.runPromise(
      loadTrainingData([{ file: dataFile, textColumn: "text", valenceColumn: "v", arousalColumn: "a", scale: { min: 1, max: 5 } }], {
        seed: 1,
        skipBadRows: false
      })
    )
    const baseline = tf.memory().numTensors
    const out = join(workdir, "in-process")
    await Effect.runPromise(
      Effect.scoped(
        train(config, {
          model: modelDir,
          data,
          out,
          variant: "carl",
          steps: 24,
          checkpointEvery: 0,
          evalEvery: 0,
          resume: false,
          progress: "off",
          clipGradientNorm: undefined,
          offline: true,
          evalTrainLimit: 100
        })
      ).pipe(Effect.provide(Layer.mergeAll(Backend.layer("cpu"), Rng.layer(1))))
    )
    assert.equal(tf.memory().numTensors, baseline, "every tensor of the run was released")
    const objectives = (await readFile(join(out, "metrics.jsonl"), "utf8"))
      .split("\n")
      .filter((line) => line.includes('"objective"'))
      .map((line) => (JSON.parse(line) as { objective: number }).objective)
    const first = objectives.slice(0, 4).reduce((a, b) => a + b, 0) / 4
    const last = objectives.slice(-4).reduce((a, b) => a + b, 0) / 4
    assert.ok(last < first, `objective fell: first steps ${first.toFixed(3)}, last steps ${last.toFixed(3)}`)
  })
})
