/**
 * Faults, on the tiniest model (test/support/tiny-run.ts), fixed seed, a checkpoint every 2 steps;
 * the processes that are killed or fail run the CLI, resumptions that only need checking run in
 * this process (the same trainCommand, without 4 s of start-up each):
 * - SIGKILL at seeded random moments (while loading, between steps, in the middle of writing a
 *   checkpoint's weights or the `latest` pointer), four times; each `--resume` continues from
 *   the checkpoint `latest` names, and the run ends with the weights and the metrics log of an
 *   uninterrupted run, byte for byte;
 * - a damaged newest checkpoint (a flipped byte, a truncated file, an edited state.json) is
 *   reported in one line and the previous one is used;
 * - a full disk during a checkpoint write fails the run in one line naming the file, leaves the
 *   previous checkpoint and `latest` intact, and `--resume` then finishes the run;
 * - SIGINT finishes the step, writes a checkpoint and stops; `--resume` ends equal too (SIGTERM
 *   and its exit code 143 are in test/train.test.ts).
 * The middle of a write is reached with the CARL_TEST_FAULT hook of pipelines/test-faults.ts.
 */
import assert from "node:assert/strict"
import { cp, readdir, readFile, rm, truncate, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { before, describe, test } from "node:test"
import { Cause, Effect, Exit } from "effect"
import { fileSystemProblem, writeFileAtomic } from "../core/atomic-file.ts"
import { SeededRandom } from "../core/random.ts"
import { loadLatestCheckpoint } from "../pipelines/train/checkpoint.ts"
import { temporaryFolder } from "./support/temp-folder.ts"
import { carlLines, checkpointName, createTinyRun, exists, finalWeights, latestCheckpointStep, startCarl, trainInProcess, useCpuBackend, waitFor, type Finished, type TinyRun } from "./support/tiny-run.ts"

const STEPS = 40
const EVERY = 2

const inWorkdir = temporaryFolder("carl-faults-")
let run: TinyRun
let referenceWeights: Buffer
let referenceMetrics: Array<string>
/** The run that met a full disk, started beside the reference. */
let fullDisk: Finished

const args = (out: string, ...more: ReadonlyArray<string>) => run.args(out, { steps: STEPS, checkpointEvery: EVERY }, ...more)
const resumeInProcess = (out: string) => trainInProcess(run, out, { steps: STEPS, checkpointEvery: EVERY, resume: true })
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/** metrics.jsonl without its timings, one string per line: equal for runs that computed the same. */
const metricsRecords = async (out: string): Promise<Array<string>> =>
  (await readFile(join(out, "metrics.jsonl"), "utf8"))
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => {
      const { seconds: _seconds, tokensPerSecond: _tokensPerSecond, ...rest } = JSON.parse(line) as Record<string, unknown>
      return JSON.stringify(rest)
    })

/** The highest step metrics.jsonl has logged. */
const loggedStep = async (out: string): Promise<number> => {
  const text = await readFile(join(out, "metrics.jsonl"), "utf8").catch(() => "")
  let step = 0
  for (const match of text.matchAll(/^\{"step":(\d+),"epoch"/gm)) step = Math.max(step, Number(match[1]))
  return step
}

/** Entries of checkpoints/ that only a save in progress (or killed) leaves. */
const leftovers = async (out: string) => (await readdir(join(out, "checkpoints")).catch(() => [] as Array<string>)).filter((entry) => entry.includes(".tmp-"))

before(async () => {
  await useCpuBackend()
  run = await createTinyRun(inWorkdir())
  const reference = inWorkdir("reference")
  const [result, failed] = await Promise.all([
    startCarl(args(reference)).finished,
    startCarl(args(inWorkdir("full-disk")), { CARL_TEST_FAULT: "enospc:weights.safetensors:3" }).finished
  ])
  fullDisk = failed
  assert.equal(result.status, 0, result.stderr)
  referenceWeights = await finalWeights(reference)
  referenceMetrics = await metricsRecords(reference)
  assert.equal(referenceMetrics.filter((line) => line.includes('"objective"')).length, STEPS)
})

type Kill =
  | { readonly kind: "at-random" }
  | { readonly kind: "after-a-step" }
  | { readonly kind: "mid-write"; readonly file: "weights.safetensors" | "state.json" | "latest" }

describe("kill -9 at random moments, resumed each time", () => {
  test("four SIGKILLs, two of them mid-checkpoint-write; each --resume starts at `latest`; the end equals an uninterrupted run", async () => {
    const out = inWorkdir("killed")
    const random = new SeededRandom(20261128)
    const plan: ReadonlyArray<Kill> = [
      { kind: "after-a-step" },
      { kind: "mid-write", file: "weights.safetensors" },
      { kind: "at-random" },
      { kind: "mid-write", file: "latest" }
    ]
    let kills = 0
    let checkedResumes = 0
    /** A resumed run said where it started: it must be the checkpoint `latest` named, undamaged. */
    const checkResume = (stdout: string, stderr: ReadonlyArray<string>, last: number) => {
      assert.match(stdout, new RegExp(`resumed from ${escape(join(out, "checkpoints", checkpointName(last)))} at step ${last}/${STEPS}`))
      assert.deepEqual(stderr.filter((line) => line.includes("warning")), [], "no checkpoint was damaged")
      checkedResumes += 1
    }
    for (const kill of plan) {
      const last = await latestCheckpointStep(out)
      const leftBefore = new Set(await leftovers(out))
      const env: Record<string, string> = kill.kind === "mid-write" ? { CARL_TEST_FAULT: `pause:${kill.file}:${1 + random.int(2)}` } : {}
      const child = startCarl(last < 0 ? args(out) : args(out, "--resume"), env)
      let ended = false
      void child.finished.then(() => (ended = true))
      if (kill.kind === "at-random") {
        // Anywhere from loading the model and the checkpoint to a few steps and saves in.
        await waitFor(() => ended || /^backend:/m.test(child.stdout()), "the run to start")
        await new Promise((resolve) => setTimeout(resolve, random.int(800)))
      } else if (kill.kind === "after-a-step") {
        const target = Math.max(last, EVERY) + 1 + random.int(4)
        await waitFor(async () => ended || (await loggedStep(out)) >= target, `step ${target}`)
        await new Promise((resolve) => setTimeout(resolve, random.int(40)))
      } else {
        await waitFor(() => ended || child.stderr().includes("carl-test-fault: paused"), "the paused write")
      }
      child.child.kill("SIGKILL")
      const result = await child.finished
      assert.equal(result.signal, "SIGKILL", `killed before it ended: ${result.stderr}`)
      kills += 1
      if (kill.kind === "mid-write") {
        // Killed with half a file written: the partial file is there, `latest` still names a whole checkpoint.
        const partial = (await leftovers(out)).filter((entry) => !leftBefore.has(entry))
        assert.equal(partial.length, 1, `one partial write left: ${partial.join(", ")}`)
        if (kill.file === "latest") assert.match(partial[0] ?? "", /^latest\.tmp-/)
        else assert.ok(Number(/step-(\d+)/.exec(partial[0] ?? "")?.[1]) > (await latestCheckpointStep(out)), "the checkpoint being written is not `latest`")
      }
      if (last >= 0 && result.stdout.includes("resumed from")) checkResume(result.stdout, carlLines(result.stderr), last)
    }
    const last = await latestCheckpointStep(out)
    assert.ok(last > 0, "a checkpoint to finish from")
    const finished = await resumeInProcess(out)
    assert.ok(Exit.isSuccess(finished.exit), finished.stderr.join("\n"))
    checkResume(finished.stdout.join("\n"), finished.stderr, last)
    assert.equal(kills, plan.length)
    assert.ok(checkedResumes >= 3, `checked ${checkedResumes} resumes`)
    assert.deepEqual(await leftovers(out), [], "the next saves removed what the killed ones left")
    assert.ok((await finalWeights(out)).equals(referenceWeights), "final weights equal the uninterrupted run's, byte for byte")
    assert.deepEqual(await metricsRecords(out), referenceMetrics, "metrics.jsonl reads as the uninterrupted run's")
  })
})

describe("a damaged newest checkpoint is reported and the previous one used", () => {
  const damages: ReadonlyArray<readonly [string, (checkpoint: string) => Promise<void>, RegExp]> = [
    [
      "a flipped byte in weights.safetensors",
      async (checkpoint) => {
        const file = join(checkpoint, "weights.safetensors")
        const bytes = await readFile(file)
        const at = Math.floor(bytes.length * 0.7)
        bytes[at] = (bytes[at] ?? 0) ^ 0x10
        await writeFile(file, bytes)
      },
      /weights\.safetensors does not match its checksum/
    ],
    [
      "weights.safetensors truncated (a partial copy)",
      async (checkpoint) => {
        const file = join(checkpoint, "weights.safetensors")
        await truncate(file, Math.floor((await readFile(file)).length / 3))
      },
      /weights\.safetensors does not match its checksum/
    ],
    [
      "an edited state.json (the data position changed)",
      async (checkpoint) => {
        const file = join(checkpoint, "state.json")
        const text = await readFile(file, "utf8")
        const edited = text.replace(/"batchInEpoch": (\d+)/, (_match, batch: string) => `"batchInEpoch": ${Number(batch) + 1}`)
        assert.notEqual(edited, text)
        await writeFile(file, edited)
      },
      /state\.json does not match its checksum/
    ]
  ]

  test("a flipped byte, a truncated file, an edited state.json: one warning line each, resumed from the one before, same final weights", async () => {
    // Three copies of the finished reference run, each with its newest checkpoint damaged and its
    // final model removed, then resumed.
    const results = await Promise.all(
      damages.map(async ([, damage], index) => {
        const out = inWorkdir(`damaged-${index}`)
        await cp(inWorkdir("reference"), out, { recursive: true })
        await rm(join(out, "final"), { recursive: true })
        assert.equal(await latestCheckpointStep(out), STEPS)
        await damage(join(out, "checkpoints", checkpointName(STEPS)))
        return out
      })
    )
    for (const [index, out] of results.entries()) {
      const [name, , problem] = damages[index] ?? ["", undefined, /$^/]
      const result = await resumeInProcess(out)
      assert.ok(Exit.isSuccess(result.exit), `${name}: ${result.stderr.join("\n")}`)
      const lines = result.stderr
      assert.equal(lines.length, 1, `${name}: one line on stderr: ${lines.join(" | ")}`)
      assert.match(lines[0] ?? "", new RegExp(`^carl: warning: skipped a damaged checkpoint: ${escape(join(out, "checkpoints", checkpointName(STEPS)))}: `))
      assert.match(lines[0] ?? "", problem)
      assert.match(result.stdout.join("\n"), new RegExp(`resumed from .*${checkpointName(STEPS - EVERY)} at step ${STEPS - EVERY}/${STEPS}`), name)
      assert.ok((await finalWeights(out)).equals(referenceWeights), `${name}: final weights equal the uninterrupted run's`)
    }
  })
})

describe("a full disk during a checkpoint write", () => {
  test("ENOSPC writing the third checkpoint: one line naming the file, the second checkpoint and `latest` intact, --resume finishes", async () => {
    const out = inWorkdir("full-disk")
    const failed = fullDisk
    assert.equal(failed.status, 1, failed.stderr)
    const lines = carlLines(failed.stderr)
    assert.equal(lines.length, 1, lines.join(" | "))
    assert.match(lines[0] ?? "", new RegExp(`^carl: ${escape(join(out, "checkpoints", checkpointName(3 * EVERY), "weights.safetensors"))}: .*no space left on device`))
    assert.equal(await exists(join(out, "final")), false)
    assert.deepEqual((await readdir(join(out, "checkpoints"))).sort(), ["latest", checkpointName(EVERY), checkpointName(2 * EVERY)], "nothing half-written is left")
    assert.equal(await latestCheckpointStep(out), 2 * EVERY)
    const loaded = await Effect.runPromise(loadLatestCheckpoint(out))
    assert.equal(loaded.state.step, 2 * EVERY)
    assert.deepEqual(loaded.skipped, [], "the previous checkpoint verifies")

    const resumed = await resumeInProcess(out)
    assert.ok(Exit.isSuccess(resumed.exit), resumed.stderr.join("\n"))
    assert.match(resumed.stdout.join("\n"), new RegExp(`resumed from .*${checkpointName(2 * EVERY)} at step ${2 * EVERY}/${STEPS}`))
    assert.ok((await finalWeights(out)).equals(referenceWeights), "final weights equal the uninterrupted run's")
  })
})

describe("SIGINT", () => {
  test("a SIGINT between steps: the step finishes, a checkpoint is written, the run stops; --resume ends equal", async () => {
    const out = inWorkdir("sigint")
    let signalled = false
    const stopped = await trainInProcess(run, out, {
      steps: STEPS,
      checkpointEvery: 0,
      resume: false,
      onStep: (report) => {
        if (report.step === 7 && !signalled) {
          signalled = true
          process.kill(process.pid, "SIGINT")
        }
      }
    })
    assert.ok(Exit.isFailure(stopped.exit))
    const message = (Cause.squash(stopped.exit.cause) as Error).message
    const match = /^SIGINT: stopped after step (\d+); checkpoint (\S+) \(continue with --resume\)$/.exec(message)
    assert.ok(match !== null, message)
    const step = Number(match[1])
    assert.ok(step >= 7 && step < STEPS, `stopped after step ${step}`)
    assert.equal(match[2], join(out, "checkpoints", checkpointName(step)))
    assert.equal(await latestCheckpointStep(out), step)
    assert.equal(await exists(join(out, "final")), false)
    const resumed = await resumeInProcess(out)
    assert.ok(Exit.isSuccess(resumed.exit), resumed.stderr.join("\n"))
    assert.match(resumed.stdout.join("\n"), new RegExp(`resumed from .*${checkpointName(step)} at step ${step}/${STEPS}`))
    assert.ok((await finalWeights(out)).equals(referenceWeights), "final weights equal the uninterrupted run's")
  })
})

describe("atomic writes", () => {
  test("a write that fails half way (ENOSPC) leaves the old file whole and no temporary file behind", async () => {
    const dir = inWorkdir("atomic")
    await cp(run.configFile, join(dir, "kept.json"), { recursive: true })
    const before = await readFile(join(dir, "kept.json"))
    process.env["CARL_TEST_FAULT"] = "enospc:kept.json:1"
    const error: unknown = await writeFileAtomic(join(dir, "kept.json"), "x".repeat(10_000)).then(
      () => undefined,
      (failure: unknown) => failure
    )
    delete process.env["CARL_TEST_FAULT"]
    assert.equal(fileSystemProblem(error), "no space left on device (ENOSPC)")
    assert.ok((await readFile(join(dir, "kept.json"))).equals(before), "the old content is whole")
    assert.deepEqual(await readdir(dir), ["kept.json"])
    await writeFileAtomic(join(dir, "kept.json"), "new")
    assert.equal(await readFile(join(dir, "kept.json"), "utf8"), "new")
    assert.deepEqual(await readdir(dir), ["kept.json"])
  })
})
