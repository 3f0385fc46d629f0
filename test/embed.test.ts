/**
 * `carl embed` and the embedding pipeline under it, on a small BERT folder the test writes
 * (random weights, the real bert-base-uncased tokenizer) and on USE-lite.
 */
import assert from "node:assert/strict"
import { spawn } from "node:child_process"
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { after, before, describe, test } from "node:test"
import * as tf from "@tensorflow/tfjs"
import { Effect } from "effect"
import { SeededRandom } from "../core/random.ts"
import { saveBertDirectory } from "../plugins/encoders/index.ts"
import { TINY_BERT_CONFIG } from "../plugins/encoders/index.ts"
import { BertEncoder } from "../plugins/encoders/index.ts"
import { loadTextEncoder, type TextEncoder } from "../plugins/encoders/load-text-encoder.ts"
import { embedTexts } from "../pipelines/embed.ts"
import "./support/backends.ts"

const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url))
const TOKENIZER_DIR = join(REPO_ROOT, "..", "shared", "models", "bert-base-uncased-tokenizer")

const TEXTS = ["I love this movie!", "", "This is terrible, I hated every minute of it and want my money back.", "calm", "I love this movie!"]

let workdir = ""
let modelDir = ""
let model: TextEncoder

before(async () => {
  await tf.setBackend("cpu")
  workdir = await mkdtemp(join(tmpdir(), "carl-embed-"))
  modelDir = join(workdir, "bert")
  const encoder = BertEncoder.random({ ...TINY_BERT_CONFIG, vocabSize: 30522 }, new SeededRandom(5), { trainable: false })
  await Effect.runPromise(saveBertDirectory(encoder, modelDir, { copyFrom: TOKENIZER_DIR }))
  encoder.parameters.dispose()
  model = await Effect.runPromise(loadTextEncoder(modelDir, { trainable: false }))
})

after(async () => {
  model.encoder.parameters.dispose()
  await rm(workdir, { recursive: true, force: true })
})

const cosine = (a: Float32Array, b: Float32Array): number => {
  let dot = 0
  let na = 0
  let nb = 0
  a.forEach((x, i) => {
    const y = b[i] ?? 0
    dot += x * y
    na += x * x
    nb += y * y
  })
  return dot / Math.sqrt(na * nb)
}

describe("embedTexts", () => {
  test("vectors come back in input order, each equal to the text embedded alone", () => {
    const { vectors } = embedTexts(model, TEXTS, { batchSize: 2, maxLength: 128, pooling: "cls" })
    assert.equal(vectors.length, TEXTS.length)
    TEXTS.forEach((text, i) => {
      const [alone] = embedTexts(model, [text], { batchSize: 1, maxLength: 128, pooling: "cls" }).vectors
      assert.ok(alone !== undefined && vectors[i] !== undefined)
      const largest = Math.max(...Array.from(alone, Math.abs))
      const difference = Math.max(...Array.from(alone, (x, k) => Math.abs(x - (vectors[i]?.[k] ?? NaN))))
      assert.ok(difference <= 1e-5 * Math.max(largest, 1), `text ${i}: batched and alone differ by ${difference}`)
    })
    assert.deepEqual(vectors[0], vectors[4], "the same text gives the same vector")
  })

  test("long texts are cut to maxLength and counted", () => {
    const long = "word ".repeat(100)
    const { truncated } = embedTexts(model, [long, "short"], { batchSize: 4, maxLength: 16, pooling: "mean" })
    assert.equal(truncated, 1)
    const [cut] = embedTexts(model, [long], { batchSize: 1, maxLength: 16, pooling: "mean" }).vectors
    const [exact] = embedTexts(model, ["word ".repeat(14)], { batchSize: 1, maxLength: 16, pooling: "mean" }).vectors
    assert.ok(cut !== undefined && exact !== undefined)
    assert.ok(cosine(cut, exact) > 0.99999, "16 tokens = [CLS] + 14 words + [SEP]")
  })

  test("no tensor outlives a call", () => {
    const before = tf.memory().numTensors
    embedTexts(model, TEXTS, { batchSize: 3, maxLength: 64, pooling: "pooler" })
    assert.equal(tf.memory().numTensors, before)
  })
})

interface Run {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

const carl = (args: ReadonlyArray<string>, stdin = ""): Promise<Run> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "bin/carl.ts", ...args], {
      cwd: REPO_ROOT,
      stdio: ["pipe", "pipe", "pipe"],
      timeout: 120_000
    })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    child.on("error", reject)
    child.on("close", (status) => resolve({ status, stdout, stderr }))
    child.stdin.end(stdin)
  })

const parseJsonLines = (text: string): Array<Array<number>> =>
  text
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as Array<number>)

describe("carl embed", () => {
  test("a local BERT folder: one array per input line, empty lines kept, output written whole", async () => {
    const input = join(workdir, "input.txt")
    const output = join(workdir, "vectors.jsonl")
    await writeFile(input, `${TEXTS.join("\n")}\n`)
    const run = await carl(["embed", "--backend", "cpu", "--model", modelDir, "--input", input, "--output", output, "--max-length", "12"])
    assert.equal(run.status, 0, run.stderr)
    const rows = parseJsonLines(await readFile(output, "utf8"))
    assert.equal(rows.length, TEXTS.length)
    for (const row of rows) assert.equal(row.length, TINY_BERT_CONFIG.hiddenSize)
    assert.deepEqual(rows[0], rows[4])
    assert.match(run.stderr, /1 of 5 input lines were longer than 12 tokens and were truncated/)
    assert.equal(run.stderr.match(/truncated/g)?.length, 1, "said once")
  })

  test("use-lite from stdin to stdout: 512-dimensional unit vectors", async () => {
    const run = await carl(["embed", "--input", "-", "--output", "-"], "I love this movie!\n\nI hate it.\n")
    assert.equal(run.status, 0, run.stderr)
    const rows = parseJsonLines(run.stdout)
    assert.equal(rows.length, 3)
    for (const row of rows.filter((_, i) => i !== 1)) {
      assert.equal(row.length, 512)
      assert.ok(Math.abs(Math.hypot(...row) - 1) < 1e-4, "USE-lite's head L2-normalises")
    }
  })

  test("bad input ends in one line naming the file and the problem", async () => {
    const bad = join(workdir, "bad.txt")
    const good = join(workdir, "good.txt")
    await writeFile(bad, Buffer.from([0x6f, 0x6b, 0x0a, 0xff, 0xfe, 0x0a]))
    await writeFile(good, "fine\n")
    const cases: Array<[ReadonlyArray<string>, RegExp]> = [
      [["embed", "--input", bad, "--model", modelDir], /bad\.txt: line 2: invalid UTF-8 at byte 3/],
      [["embed", "--input", join(workdir, "missing.txt")], /missing\.txt: cannot read \(ENOENT\)/],
      [["embed", "--input", good, "--model", "no-such-org/no-such-model", "--offline"], /offline and config\.json is not in the cache/],
      [["embed", "--input", bad, "--batch-size", "0"], /--batch-size/]
    ]
    for (const [args, expected] of cases) {
      const run = await carl(args)
      assert.equal(run.status, 1, `${args.join(" ")}: ${run.stderr}`)
      const [first] = run.stderr.split("\n")
      assert.match(first ?? "", /^carl: /)
      assert.match(first ?? "", expected)
      assert.ok(!run.stderr.includes("    at "), run.stderr)
    }
  })
})
