/**
 * Numeric guards of training (test/numerics.test.ts checks the statistics and the schedule):
 * - labels: NaN, ±Inf and overflowing numbers are rejected when a file is read (file:line), and
 *   labels given in code are checked before the first step;
 * - a step whose loss or gradient is NaN or ±Inf changes nothing: not the weights, not the AdamW
 *   moments, not the momentum target;
 * - a diverging run stops cleanly: exit 1, one line, the checkpoint whose weights failed set
 *   aside, `latest` on the last good one, and `--resume` from it works; a checkpoint never holds
 *   NaN or ±Inf;
 * - a PGD perturbation that rounds away in float32 is reported once per run, however many steps.
 */
import assert from "node:assert/strict"
import { readdir, readFile, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { before, describe, test } from "node:test"
import * as tf from "@tensorflow/tfjs"
import { Cause, Effect, Exit, Layer } from "effect"
import { AdamW } from "../core/adamw.ts"
import { Backend } from "../plugins/backends/index.ts"
import { defaultConfig } from "../plugins/carl/config.ts"
import { ParameterSet } from "../core/parameters.ts"
import { Rng } from "../core/rng.ts"
import { trainStep } from "../core/train-step.ts"
import { carlGraph, carlParameterSets, disposeCarlModel } from "../pipelines/carl-graph.ts"
import { loadLatestCheckpoint, saveCheckpoint } from "../pipelines/train/checkpoint.ts"
import { loadTrainingData } from "../pipelines/train/load-training-data.ts"
import { train } from "../pipelines/train/train.ts"
import { tinyCarl } from "./support/tiny-carl.ts"
import { trainOptions, VA_COLUMNS } from "./support/run-options.ts"
import { temporaryFolder } from "./support/temp-folder.ts"
import { carlLines, checkpointName, createTinyRun, exists, finalWeights, latestCheckpointStep, startCarl, trainInProcess, useCpuBackend, type TinyRun } from "./support/tiny-run.ts"

const inWorkdir = temporaryFolder("carl-numerics-")
let run: TinyRun

before(async () => {
  await useCpuBackend()
  run = await createTinyRun(inWorkdir())
})

const failureMessage = (exit: Exit.Exit<unknown, unknown>): string =>
  Exit.isFailure(exit) ? (Cause.squash(exit.cause) as Error).message : "(it succeeded)"


describe("labels", () => {
  const cases: ReadonlyArray<readonly [string, string, string]> = [
    ["nan.csv", 'text,v,a\n"fine",3,3\n"ok",2,4\n"bad",NaN,3\n', "nan.csv:4"],
    ["inf.csv", 'text,v,a\n"fine",3,3\n"ok",2,-Infinity\n"more",4,2\n', "inf.csv:3"],
    ["overflow.jsonl", '{"text":"fine","v":3,"a":3}\n{"text":"bad","v":1e999,"a":3}\n', "overflow.jsonl:2"]
  ]
  for (const [name, content, where] of cases) {
    test(`${where}: a non-finite label is an error naming the file and line`, async () => {
      const file = inWorkdir(name)
      await writeFile(file, content)
      const exit = await Effect.runPromiseExit(
        loadTrainingData([{ file, ...VA_COLUMNS }], { seed: 1, skipBadRows: false })
      )
      assert.match(failureMessage(exit), new RegExp(`^${inWorkdir(where).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: .*finite`))
    })
  }

  test("labels given in code are checked before the first step, and nothing is written", async () => {
    const example = { text: "the game was great", valence: 0.5, arousal: 0.1 }
    const out = inWorkdir("bad-labels")
    const exit = await Effect.runPromiseExit(
      Effect.scoped(
        train(
          defaultConfig(),
          trainOptions({
            model: run.modelDir,
            data: { train: [example, { ...example, valence: Number.NaN }], dev: [], test: [], sources: [] },
            out,
            evalTrainLimit: 10
          })
        )
      ).pipe(Effect.provide(Layer.mergeAll(Backend.layer("cpu"), Rng.layer(1))))
    )
    assert.equal(failureMessage(exit), "training data: train[1]: valence is NaN, not a finite number")
    assert.equal(await exists(out), false)
  })
})

/** A copy of every weight, AdamW moment and the step count, to compare before and after a step. */
const snapshot = (sets: ReadonlyArray<readonly [string, ParameterSet]>, optimizer: AdamW) => {
  const names = new Map<tf.Variable, string>()
  for (const [setName, set] of sets) for (const [name, variable] of set.entries()) names.set(variable, `${setName}.${name}`)
  const values = new Map<string, Float32Array>()
  for (const [variable, name] of names) values.set(name, Float32Array.from(variable.dataSync() as Float32Array))
  const state = optimizer.exportState(names)
  for (const [name, data] of state.tensors) values.set(`adamw.${name}`, Float32Array.from(data.values))
  return { steps: state.steps, values }
}

describe("a step that is not finite changes nothing", () => {
  test("a NaN label: the loss is NaN, and the weights, AdamW moments and momentum target stay as they were", () => {
    const tiny = tinyCarl()
    const graph = carlGraph(tiny.model, tiny.config)
    const optimizer = new AdamW(tiny.config.optimizer)
    const sets = carlParameterSets(tiny.model)
    const first = trainStep(graph, optimizer, tiny.inputs, { step: 0, totalSteps: 4 })
    assert.ok(first.finite, "a normal step first, so the AdamW moments exist")
    const before = snapshot(sets, optimizer)
    const labels = tiny.batch.vaLabels.dataSync().slice()
    labels[3] = Number.NaN
    const nanLabels = tf.tensor2d(labels, tiny.batch.vaLabels.shape)
    const report = trainStep(graph, optimizer, { ...tiny.inputs, vaLabels: nanLabels }, { step: 1, totalSteps: 4 })
    nanLabels.dispose()
    assert.equal(report.finite, false)
    assert.ok(Number.isNaN(report.scalars["loss.mccl"]), `loss.mccl ${report.scalars["loss.mccl"]}`)
    assert.deepEqual(snapshot(sets, optimizer), before)
    optimizer.dispose()
    disposeCarlModel(tiny.model)
  })

  test("finite losses but a non-finite gradient (lr 1e3 blows the weights up): nothing changes either", () => {
    const tiny = tinyCarl({ optimizer: { learningRate: 1e3 } })
    const graph = carlGraph(tiny.model, tiny.config)
    const optimizer = new AdamW(tiny.config.optimizer)
    const sets = carlParameterSets(tiny.model)
    let found = false
    for (let step = 0; step < 10 && !found; step++) {
      const before = snapshot(sets, optimizer)
      const report = trainStep(graph, optimizer, tiny.inputs, { step, totalSteps: 10 })
      if (report.finite) continue
      found = true
      const { gradientNorm, ...losses } = report.scalars
      assert.ok(Object.values(losses).every(Number.isFinite), `the losses are finite: ${JSON.stringify(losses)}`)
      assert.ok(!Number.isFinite(gradientNorm ?? 0), `the gradient is not: ${gradientNorm}`)
      assert.deepEqual(snapshot(sets, optimizer), before)
    }
    assert.ok(found, "lr 1e3 made a gradient non-finite within 10 steps")
    optimizer.dispose()
    disposeCarlModel(tiny.model)
  })
})

describe("a diverging run", () => {
  test("lr 1e3 through the CLI: exit 1, one line; the failing checkpoint set aside, `latest` on the last good one, all finite; --resume replays it", async () => {
    // The paper's objective, whose divergence at lr 1e3 passes through good checkpoints first.
    const out = inWorkdir("diverging")
    const options = { steps: 20, checkpointEvery: 1, lr: 1e3, preset: "paper" as const }
    const result = await startCarl(run.args(out, options, "--preset", "paper")).finished
    assert.equal(result.status, 1, result.stderr)
    const errors = carlLines(result.stderr).filter((line) => !line.startsWith("carl: warning:"))
    assert.equal(errors.length, 1, errors.join(" | "))
    const match = /^carl: step (\d+): non-finite gradientNorm NaN; training stopped before this step's update; last good checkpoint (\S+) \(continue with --resume and a lower --lr or --clip-grad-norm\); the checkpoint of step (\d+), whose weights gave this, was set aside as (\S+)$/.exec(errors[0] ?? "")
    assert.ok(match !== null, errors[0])
    const [, failedStep, good, asideStep, aside] = match
    const step = Number(failedStep)
    assert.equal(good, join(out, "checkpoints", checkpointName(step - 2)))
    assert.equal(Number(asideStep), step - 1)
    assert.equal(aside, join(out, "checkpoints", `diverged-${checkpointName(step - 1)}`))
    assert.equal(await latestCheckpointStep(out), step - 2)
    assert.equal(await exists(join(out, "final")), false)
    const objectives = (await readFile(join(out, "metrics.jsonl"), "utf8"))
      .split("\n")
      .filter((line) => line.includes('"objective"'))
      .map((line) => (JSON.parse(line) as { objective: number }).objective)
    assert.ok((objectives.at(-1) ?? 0) > 1e6 * (objectives[0] ?? Infinity), `it diverged: ${objectives.map((o) => o.toExponential(1)).join(" ")}`)
    const loaded = await Effect.runPromise(loadLatestCheckpoint(out))
    assert.equal(loaded.state.step, step - 2)
    for (const [name, { values }] of loaded.tensors) assert.ok(values.every(Number.isFinite), `${name} is finite`)

    // The same options again from the last good checkpoint: the same steps, the same stop.
    const again = await trainInProcess(run, out, { ...options, resume: true })
    assert.match(again.stdout.join("\n"), new RegExp(`resumed from .*${checkpointName(step - 2)} at step ${step - 2}/20`))
    assert.match(failureMessage(again.exit), new RegExp(`^step ${step}: non-finite gradientNorm NaN`))
  })

  test("a NaN gradient at step 7: stops, keeps step 5, sets step 6 aside; --resume then ends equal to an uninterrupted run", async () => {
    const options = { steps: 10, checkpointEvery: 1 }
    const reference = inWorkdir("nan-reference")
    const uninterrupted = await trainInProcess(run, reference, { ...options, resume: false })
    assert.ok(Exit.isSuccess(uninterrupted.exit), failureMessage(uninterrupted.exit))

    const out = inWorkdir("nan-gradient")
    process.env["CARL_TEST_FAULT"] = "nan-gradient:7"
    const stopped = await trainInProcess(run, out, { ...options, resume: false }).finally(() => delete process.env["CARL_TEST_FAULT"])
    assert.match(
      failureMessage(stopped.exit),
      new RegExp(`^step 7: non-finite gradientNorm NaN; .*last good checkpoint ${join(out, "checkpoints", checkpointName(5))} .*set aside as ${join(out, "checkpoints", "diverged-step-000006")}$`)
    )
    assert.deepEqual((await readdir(join(out, "checkpoints"))).sort(), ["diverged-step-000006", "latest", checkpointName(5)])

    const resumed = await trainInProcess(run, out, { ...options, resume: true })
    assert.ok(Exit.isSuccess(resumed.exit), failureMessage(resumed.exit))
    assert.match(resumed.stdout.join("\n"), /resumed from .*step-000005 at step 5\/10/)
    assert.ok((await finalWeights(out)).equals(await finalWeights(reference)), "final weights equal the uninterrupted run's")
  })

  test("a checkpoint is never written with NaN or ±Inf weights; the previous one stays `latest`", async () => {
    const out = inWorkdir("non-finite-weights")
    const set = ParameterSet.fromTensors([["w", tf.tensor1d([1, 2, 3])]], { trainable: true })
    const optimizer = new AdamW()
    await Effect.runPromise(saveCheckpoint(out, 1, [["head", set]], optimizer, {}))
    set.get("w").assign(tf.tensor1d([1, Number.POSITIVE_INFINITY, 3]))
    const exit = await Effect.runPromiseExit(saveCheckpoint(out, 2, [["head", set]], optimizer, {}))
    assert.equal(failureMessage(exit), `${join(out, "checkpoints", checkpointName(2))}: not written: weights.head.w holds Infinity (the run diverged); the previous checkpoint is kept`)
    assert.deepEqual((await readdir(join(out, "checkpoints"))).sort(), ["latest", checkpointName(1)])
    assert.equal(await latestCheckpointStep(out), 1)
    set.dispose()
    optimizer.dispose()
  })
})

describe("a PGD perturbation that rounds away in float32", () => {
  const pgdWarnings = (lines: ReadonlyArray<string>) => lines.filter((line) => line.includes("PGD perturbation"))

  test("ε = 1e-12 vanishes at every one of 6 steps and is reported once, on stderr", async () => {
    const out = inWorkdir("pgd-vanishes")
    const result = await trainInProcess(run, out, { steps: 6, checkpointEvery: 0, resume: false, config: { pgd: { epsilon: 1e-12 } } })
    assert.ok(Exit.isSuccess(result.exit), failureMessage(result.exit))
    const norms = (await readFile(join(out, "metrics.jsonl"), "utf8"))
      .split("\n")
      .filter((line) => line.includes('"perturbationNorm"'))
      .map((line) => (JSON.parse(line) as { perturbationNorm: number }).perturbationNorm)
    assert.deepEqual(norms, [0, 0, 0, 0, 0, 0], "detected at every step")
    const warnings = pgdWarnings(result.stderr)
    assert.equal(warnings.length, 1, warnings.join(" | "))
    assert.match(warnings[0] ?? "", /^carl: warning: PGD perturbation vanished: with epsilon 1e-12 /)
    assert.equal(pgdWarnings(result.stdout).length, 0)
  })

  test("the paper's ε = 5e-9 on the same model is realised, and nothing is reported", async () => {
    const out = inWorkdir("pgd-realised")
    const result = await trainInProcess(run, out, { steps: 6, checkpointEvery: 0, resume: false })
    assert.ok(Exit.isSuccess(result.exit), failureMessage(result.exit))
    assert.deepEqual(pgdWarnings([...result.stderr, ...result.stdout]), [])
  })
})
