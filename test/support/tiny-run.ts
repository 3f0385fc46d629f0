/**
 * The smallest training run the CLI accepts, for tests that start, kill and resume `carl train`
 * many times: a random BERT of one layer, hidden size 16, over a WordPiece vocabulary of 60
 * tokens (so a checkpoint is ~100 kB and a step a few milliseconds), 48 labelled sentences, and
 * a config file with small heads. `args` runs it through the CLI, `trainInProcess` the same run
 * in this process (as bin/carl.ts would, its console captured). Also the child-process helpers
 * those tests share.
 */
import assert from "node:assert/strict"
import { spawn, type ChildProcess } from "node:child_process"
import { access, readFile, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import * as tf from "@tensorflow/tfjs"
import { Console, Effect, Layer, type Exit } from "effect"
import { Backend } from "../../plugins/backends/index.ts"
import { CONFIG_PRESETS, DEFAULT_PRESET, type ConfigPreset } from "../../plugins/carl/config.ts"
import { loadConfig } from "../../plugins/carl/config-file.ts"
import type { StepReport } from "../../core/train-step.ts"
import { Rng } from "../../core/rng.ts"
import { SeededRandom } from "../../core/random.ts"
import { type BertConfig } from "../../plugins/encoders/index.ts"
import { TINY_BERT_CONFIG } from "../../plugins/encoders/index.ts"
import { trainCommand } from "../../pipelines/train/train-command.ts"
import type { TrainSummary } from "../../pipelines/train/train.ts"
import { trainCommandOptions, VA_COLUMNS } from "./run-options.ts"
import { writeTinyBertDir } from "./tiny-bert-dir.ts"

export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url))

/** The seed of every tiny run (`--seed`). */
const SEED = 5

const GOOD = ["wonderful", "lovely", "great", "happy", "calm"]
const BAD = ["awful", "terrible", "sad", "angry", "boring"]
const THINGS = ["movie", "dinner", "trip", "weekend", "class", "game"]
const SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
const DIGITS = "0123456789".split("")
const VOCAB = [...SPECIALS, ".", ",", "the", "was", "number", ...GOOD, ...BAD, ...THINGS, ...DIGITS, ...DIGITS.map((d) => `##${d}`)]

export const TINY_RUN_BERT: BertConfig = {
  ...TINY_BERT_CONFIG,
  vocabSize: VOCAB.length,
  hiddenSize: 16,
  numHiddenLayers: 1,
  numAttentionHeads: 2,
  intermediateSize: 32,
  maxPositionEmbeddings: 32
}

/** `count` short sentences whose valence follows their words, on a 1–5 scale (`text,v,a`). */
export const labelledSentencesCsv = (count: number): string => {
  const random = new SeededRandom(11)
  const rows = ["text,v,a"]
  for (let i = 0; i < count; i++) {
    const positive = i % 2 === 0
    const word = (positive ? GOOD : BAD)[random.int(5)] ?? "calm"
    const thing = THINGS[random.int(THINGS.length)] ?? "game"
    rows.push(`"The ${thing} was ${word}, number ${i}.",${positive ? 4 : 2}.${random.int(10)},${1 + random.int(4)}.${random.int(10)}`)
  }
  return `${rows.join("\n")}\n`
}

export interface RunOptions {
  readonly steps: number
  readonly checkpointEvery: number
  /** Peak learning rate; 1e-3 when absent. */
  readonly lr?: number
}

export interface TinyRun {
  readonly modelDir: string
  readonly dataFile: string
  readonly configFile: string
  /** `bin/carl.ts train ...` for this model and data; `more` is appended. */
  args(out: string, options: RunOptions, ...more: ReadonlyArray<string>): Array<string>
}

/** Writes the model folder, the data and the config under `dir`. Needs a tfjs backend set. */
export const createTinyRun = async (dir: string): Promise<TinyRun> => {
  const modelDir = join(dir, "tiny-bert")
  const dataFile = join(dir, "tiny.csv")
  const configFile = join(dir, "tiny-config.json")
  const tokenizerConfig = { do_lower_case: true, pad_token: "[PAD]", model_max_length: 32 }
  await writeTinyBertDir(modelDir, { config: TINY_RUN_BERT, vocab: VOCAB, seed: 9, tokenizerConfig })
  await writeFile(dataFile, labelledSentencesCsv(48))
  await writeFile(configFile, JSON.stringify({ model: { projectionSize: 16 } }))
  return {
    modelDir,
    dataFile,
    configFile,
    args: (out, options, ...more) => trainArgs({ modelDir, dataFile, out, ...options }, "--config", configFile, "--seed", String(SEED), ...more)
  }
}

export interface TrainArgsOptions extends RunOptions {
  readonly modelDir: string
  /** A `text,v,a` file on a 1–5 scale. */
  readonly dataFile: string
  readonly out: string
}

/**
 * `bin/carl.ts train ...` on the cpu backend, batches of 8, 16 tokens, no progress bar: the
 * command line of the tests' CLI training runs; `more` is appended.
 */
export const trainArgs = ({ modelDir, dataFile, out, steps, checkpointEvery, lr = 1e-3 }: TrainArgsOptions, ...more: ReadonlyArray<string>): Array<string> => [
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
  String(lr),
  "--max-length",
  "16",
  "--checkpoint-every",
  String(checkpointEvery),
  "--no-progress",
  "--out",
  out,
  ...more
]

export interface InProcessOptions extends RunOptions {
  readonly resume: boolean
  /** Configuration on top of the config file and the flags' values (e.g. `{ pgd: { epsilon: 0 } }`). */
  readonly config?: Readonly<Record<string, unknown>>
  /** Evaluate on dev every N steps and keep the best model (0, the default: never). */
  readonly evalEvery?: number
  readonly onStep?: (report: StepReport) => void
  /** The preset under the config file, as `carl train --preset` (default: the CLI's). */
  readonly preset?: ConfigPreset
}

export interface InProcessResult {
  readonly exit: Exit.Exit<TrainSummary, unknown>
  /** What the run printed with Console.log, and with Console.error or Console.warn, one entry per call. */
  readonly stdout: ReadonlyArray<string>
  readonly stderr: ReadonlyArray<string>
}

/** The run `run.args(out, options)` describes, in this process, as bin/carl.ts runs `carl train`. */
export const trainInProcess = async (run: TinyRun, out: string, options: InProcessOptions): Promise<InProcessResult> => {
  const stdout: Array<string> = []
  const stderr: Array<string> = []
  const text = (args: ReadonlyArray<unknown>) => args.map(String).join(" ")
  const console: Console.Console = Object.assign(Object.create(globalThis.console) as Console.Console, {
    log: (...args: ReadonlyArray<unknown>) => void stdout.push(text(args)),
    error: (...args: ReadonlyArray<unknown>) => void stderr.push(text(args)),
    warn: (...args: ReadonlyArray<unknown>) => void stderr.push(text(args))
  })
  const flags = {
    seed: SEED,
    training: { batchSize: 8 },
    optimizer: { learningRate: options.lr ?? 1e-3 },
    model: { maxLength: 16 },
    ...options.config
  }
  const program = Effect.gen(function* () {
    const config = yield* loadConfig(run.configFile, flags, CONFIG_PRESETS[options.preset ?? DEFAULT_PRESET])
    return yield* Effect.scoped(
      trainCommand(
        config,
        trainCommandOptions({
          model: run.modelDir,
          data: [{ file: run.dataFile, ...VA_COLUMNS }],
          out,
          steps: options.steps,
          checkpointEvery: options.checkpointEvery,
          evalEvery: options.evalEvery ?? 0,
          resume: options.resume,
          ...(options.onStep === undefined ? {} : { onStep: options.onStep })
        })
      ).pipe(Effect.provide(Layer.mergeAll(Backend.layer("cpu"), Rng.layer(config.seed))))
    )
  })
  const exit = await Effect.runPromiseExit(program.pipe(Effect.provideService(Console.Console, console)))
  return { exit, stdout, stderr }
}

export interface Finished {
  readonly status: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

export interface Started {
  readonly child: ChildProcess
  readonly finished: Promise<Finished>
  /** What the child has written to stdout and stderr so far. */
  stdout(): string
  stderr(): string
}

/** Starts `node --import tsx <args>` in the repository, with `env` added to this process's; killed after `timeoutMs`. */
export const startCarl = (args: ReadonlyArray<string>, env: Readonly<Record<string, string>> = {}, timeoutMs = 120_000): Started => {
  const child = spawn(process.execPath, ["--import", "tsx", ...args], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
    timeout: timeoutMs
  })
  let stdout = ""
  let stderr = ""
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
  const finished = new Promise<Finished>((resolve, reject) => {
    child.on("error", reject)
    child.on("close", (status, signal) => resolve({ status, signal, stdout, stderr }))
  })
  return { child, finished, stdout: () => stdout, stderr: () => stderr }
}

export const exists = (path: string): Promise<boolean> => access(path).then(() => true, () => false)

/** Waits until `ready()` holds, polling every 5 ms; fails the test after `ms`. */
export const waitFor = async (ready: () => boolean | Promise<boolean>, what: string, ms = 60_000): Promise<void> => {
  const deadline = Date.now() + ms
  while (!(await ready())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** A checkpoint's folder name: `step-000042`. */
export const checkpointName = (step: number): string => `step-${String(step).padStart(6, "0")}`

/** The step `<out>/checkpoints/latest` names, or −1 when there is none. */
export const latestCheckpointStep = async (out: string): Promise<number> => {
  const text = await readFile(join(out, "checkpoints", "latest"), "utf8").catch(() => "")
  const match = /step-(\d+)/.exec(text)
  return match === null ? -1 : Number(match[1])
}

export const finalWeights = (out: string): Promise<Buffer> => readFile(join(out, "final", "model.safetensors"))

/** Lines of stderr that are not Node's or tfjs's own chatter. */
export const carlLines = (stderr: string): Array<string> => stderr.split("\n").filter((line) => line.startsWith("carl"))

/** Sets the cpu backend (tests that build models in process). */
export const useCpuBackend = async (): Promise<void> => {
  await tf.setBackend("cpu")
  await tf.ready()
}
