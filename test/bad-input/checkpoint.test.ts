/**
 * Damaged training checkpoints for `carl train --resume`: a run of a tiny BERT writes checkpoints
 * at steps 2 and 3, then each case damages a copy of its folder. A damaged newest checkpoint is
 * skipped, with a warning, for the one before it; when none is usable the run fails with one
 * tagged error naming the checkpoints and changes nothing in the run folder.
 */
import assert from "node:assert/strict"
import { cp, readFile, readdir, rm, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { before, describe, test } from "node:test"
import * as tf from "@tensorflow/tfjs"
import { Effect } from "effect"
import { defaultConfig } from "../../plugins/carl/config.ts"
import { trainCommand } from "../../pipelines/train/train-command.ts"
import { asCommand } from "../support/as-command.ts"
import { binaryGarbage, expectCleanCliFailure, expectCleanFailure, FOLDER, startEarly, SYMLINK_LOOP, TEN_MB_LINE, writeBadFile } from "../support/run-cli.ts"
import { trainCommandOptions, VA_COLUMNS } from "../support/run-options.ts"
import { temporaryFolder } from "../support/temp-folder.ts"
import { writeTinyBertDir } from "../support/tiny-bert-dir.ts"

const STEPS = 3
const CHECKPOINTS = ["step-000002", "step-000003"] as const

const inRoot = temporaryFolder("carl-bad-checkpoint-")
let model = ""
let data = ""
let pristine = ""
let resumeThroughCli: () => Promise<void>

const config = () => {
  const defaults = defaultConfig()
  return { ...defaults, training: { ...defaults.training, batchSize: 4 }, model: { ...defaults.model, maxLength: 16 } }
}

const trainIn = (out: string, resume: boolean) =>
  asCommand(
    trainCommand(config(), trainCommandOptions({ model, data: [{ file: data, format: "csv", ...VA_COLUMNS }], out, steps: STEPS, checkpointEvery: 1, resume }))
  )

/** console.log and console.error while `run` runs (Effect's Console writes through them). */
const capturingConsole = async <A>(run: () => Promise<A>): Promise<{ readonly value: A; readonly stderr: string }> => {
  const lines: Array<string> = []
  const { log, error } = console
  console.log = () => undefined
  console.error = (...args: Array<unknown>) => void lines.push(args.map(String).join(" "))
  try {
    return { value: await run(), stderr: lines.join("\n") }
  } finally {
    console.log = log
    console.error = error
  }
}

before(async () => {
  await tf.setBackend("cpu")
  model = inRoot("model")
  await writeTinyBertDir(model)
  data = inRoot("va.csv")
  await writeFile(data, `text,v,a\n${Array.from({ length: 24 }, (_, i) => `i love this movie ${i},${1 + (i % 5)},${1 + ((i * 3) % 5)}`).join("\n")}\n`)
  pristine = inRoot("pristine")
  await capturingConsole(() => Effect.runPromise(trainIn(pristine, false)))
  assert.deepEqual((await readdir(join(pristine, "checkpoints"))).sort(), ["latest", ...CHECKPOINTS])
  resumeThroughCli = startEarly(async () => {
    const out = await damaged("cli", inEvery((step) => truncate(join(step, "weights.safetensors"), 50)))
    const args = [
      "train", "--backend", "cpu", "--model", model, "--data", data, "--format", "csv", "--text-column", "text", "--valence-column", "v",
      "--arousal-column", "a", "--scale", "1,5", "--steps", String(STEPS), "--batch-size", "4", "--max-length", "16", "--checkpoint-every", "1",
      "--no-progress", "--resume", "--out", out
    ]
    await expectCleanCliFailure(out, args, [join(out, "checkpoints"), "no usable checkpoint"])
  })
})

/** A copy of the finished run with `damage` done to its checkpoints folder. */
const damaged = async (label: string, damage: (checkpoints: string) => Promise<void>): Promise<string> => {
  const out = inRoot(label)
  await cp(pristine, out, { recursive: true })
  await damage(join(out, "checkpoints"))
  return out
}

const truncate = async (file: string, keep: number) => writeFile(file, (await readFile(file)).subarray(0, keep))
const inEvery = (edit: (step: string) => Promise<void>) => async (checkpoints: string) => {
  for (const step of CHECKPOINTS) await edit(join(checkpoints, step))
}

interface UnusableCase {
  readonly name: string
  readonly damage: (checkpoints: string) => Promise<void>
  readonly problem: ReadonlyArray<string | RegExp>
}

const UNUSABLE: ReadonlyArray<UnusableCase> = [
  { name: "every weights file truncated", damage: inEvery((step) => truncate(join(step, "weights.safetensors"), 50)), problem: ["no usable checkpoint", "step-000003: weights.safetensors does not match its checksum", "step-000002"] },
  { name: "every weights file empty", damage: inEvery((step) => writeFile(join(step, "weights.safetensors"), "")), problem: ["no usable checkpoint", "weights.safetensors"] },
  { name: "every state.json truncated", damage: inEvery((step) => truncate(join(step, "state.json"), 30)), problem: ["no usable checkpoint", "state.json"] },
  { name: "every state.json null", damage: inEvery((step) => writeFile(join(step, "state.json"), "null")), problem: ["no usable checkpoint", "state.json"] },
  { name: "every state.json binary garbage", damage: inEvery((step) => writeFile(join(step, "state.json"), binaryGarbage())), problem: ["no usable checkpoint", "state.json"] },
  { name: "every state.json a 10 MB line", damage: inEvery((step) => writeFile(join(step, "state.json"), TEN_MB_LINE)), problem: ["no usable checkpoint", "state.json"] },
  { name: "every weights file a folder", damage: inEvery((step) => writeBadFile(join(step, "weights.safetensors"), FOLDER)), problem: ["no usable checkpoint", "weights.safetensors"] },
  { name: "every weights file a symlink loop", damage: inEvery((step) => writeBadFile(join(step, "weights.safetensors"), SYMLINK_LOOP)), problem: ["no usable checkpoint", "weights.safetensors"] },
  { name: "every checkpoint folder emptied", damage: inEvery(async (step) => writeBadFile(step, FOLDER)), problem: ["no usable checkpoint", "state.json"] },
  { name: "no checkpoints folder", damage: (checkpoints) => rm(checkpoints, { recursive: true }), problem: ["no checkpoint to resume from"] },
  { name: "the checkpoints folder a symlink loop", damage: (checkpoints) => writeBadFile(checkpoints, SYMLINK_LOOP), problem: ["no checkpoint to resume from"] }
]

describe("--resume with no usable checkpoint: one tagged error, the run folder untouched", () => {
  UNUSABLE.forEach((badCase, index) => {
    test(badCase.name, async () => {
      const out = await damaged(`unusable-${index}`, badCase.damage)
      const failure = await expectCleanFailure(out, trainIn(out, true), [join(out, "checkpoints"), ...badCase.problem])
      assert.equal(failure.tag, "CheckpointError")
    })
  })
})

describe("--resume with a damaged newest checkpoint: the one before it, and a warning", () => {
  const fallsBack = async (label: string, damage: (checkpoints: string) => Promise<void>, warning: RegExp | undefined) => {
    const out = await damaged(label, damage)
    const { value: summary, stderr } = await capturingConsole(() => Effect.runPromise(trainIn(out, true)))
    assert.equal(summary.steps, STEPS)
    if (warning !== undefined) assert.match(stderr, warning)
    else assert.doesNotMatch(stderr, /warning/)
    // The run finished again from the checkpoint it used: step 3's checkpoint is whole once more.
    const weights = (out: string) => readFile(join(out, "checkpoints", "step-000003", "weights.safetensors"))
    assert.equal((await weights(out)).length, (await weights(pristine)).length)
    assert.equal((await readFile(join(out, "checkpoints", "latest"), "utf8")).trim(), "step-000003")
  }

  test("step 3's weights truncated", () =>
    fallsBack("fallback-weights", (checkpoints) => truncate(join(checkpoints, "step-000003", "weights.safetensors"), 100), /warning: skipped a damaged checkpoint: .*step-000003: weights\.safetensors/))

  test("step 3's state.json not JSON", () =>
    fallsBack("fallback-state", (checkpoints) => writeFile(join(checkpoints, "step-000003", "state.json"), "{\"format\": "), /warning: skipped a damaged checkpoint: .*step-000003: state\.json/))

  test("`latest` holding garbage: the newest step folder is used as it is", () =>
    fallsBack("fallback-latest", (checkpoints) => writeFile(join(checkpoints, "latest"), binaryGarbage(64)), undefined))
})

describe("--resume through the CLI", () => {
  test("every checkpoint damaged: one line, exit 1, the run folder untouched", () => resumeThroughCli())
})
