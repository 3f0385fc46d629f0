/**
 * Soak: a long run of the whole trainer in this process (`carl train` as bin/carl.ts runs it:
 * data sampling, CARL steps, metrics log, dev evaluation with best-model saves, checkpoints) on
 * the tiniest model, sampling memory and speed between steps. Off unless CARL_SOAK=1:
 *
 *   CARL_SOAK=1 node --import tsx --test test/soak.test.ts
 *
 * (CARL_SOAK_STEPS=N changes the 3,000 steps.) It holds that
 * - tf.memory() is flat: after the warm-up, numTensors and numBytes between steps are exactly
 *   what they were at the end of the warm-up (every step, evaluation and checkpoint releases
 *   everything it made);
 * - RSS does not creep: RSS saws up and down by ~100 MB as V8 lets garbage (tfjs's CPU backend
 *   allocates fresh typed arrays for every op) pile up between major collections, so single
 *   samples say little. What a leak raises is the floor the sawtooth returns to: the lowest RSS
 *   of the last ten samples may exceed the lowest of the first ten after the warm-up by at most
 *   24 MB, and the highest by at most 64 MB. The model, its AdamW moments and a checkpoint are
 *   under 1 MB together; a leak of 10 kB a step (a batch and its strings, a metrics record)
 *   would lift the floor by 25 MB over the run;
 * - throughput is steady: the median steps/s of the last five windows is at least a third of
 *   that of the first five after the warm-up. Generous on purpose: the 2-core machine is shared
 *   and its load moved a window's speed between 6 and 16 steps/s in one run; a per-step cost
 *   that grows with the step (a list scanned every step) would fall further.
 * It prints a JSON summary: steps, seconds, RSS start/end/max, tensors, steps/s per window, and
 * RSS and V8 heap at every sample (step 1, then every 100 steps).
 */
import assert from "node:assert/strict"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { test } from "node:test"
import * as tf from "@tensorflow/tfjs"
import { Exit } from "effect"
import { createTinyRun, trainInProcess, useCpuBackend } from "./support/tiny-run.ts"

const SOAK = process.env["CARL_SOAK"] === "1"
const STEPS = Number(process.env["CARL_SOAK_STEPS"] ?? 3000)
const WINDOW = 100
const WARMUP = 500
const FLOOR_BOUND_MB = 24
const PEAK_BOUND_MB = 64
const RSS_SAMPLES = 10
const SPEED_WINDOWS = 5
const MB = 2 ** 20

interface Sample {
  readonly step: number
  readonly seconds: number
  readonly rssMB: number
  readonly heapUsedMB: number
  readonly numTensors: number
  readonly numBytes: number
}

test(
  `soak: ${STEPS} steps in process; tensors flat, RSS bounded, throughput steady`,
  { skip: SOAK ? false : "set CARL_SOAK=1 to run it (about 4 minutes on 2 cores)", timeout: 60 * 60_000 },
  async () => {
    const workdir = await mkdtemp(join(tmpdir(), "carl-soak-"))
    await useCpuBackend()
    const run = await createTinyRun(workdir)
    const samples: Array<Sample> = []
    const started = performance.now()
    const sample = (step: number) => {
      const memory = tf.memory()
      const usage = process.memoryUsage()
      samples.push({
        step,
        seconds: (performance.now() - started) / 1000,
        rssMB: usage.rss / MB,
        heapUsedMB: usage.heapUsed / MB,
        numTensors: memory.numTensors,
        numBytes: memory.numBytes
      })
    }
    const result = await trainInProcess(run, join(workdir, "soak"), {
      steps: STEPS,
      checkpointEvery: 250,
      evalEvery: 250,
      resume: false,
      onStep: (report) => {
        if (report.step === 1 || report.step % WINDOW === 0) sample(report.step)
      }
    })
    const seconds = (performance.now() - started) / 1000
    await rm(workdir, { recursive: true, force: true })
    assert.ok(Exit.isSuccess(result.exit), result.stderr.join("\n"))

    const windows = samples.slice(1).map((current, i) => {
      const previous = samples[i] as Sample
      return { steps: current.step, stepsPerSecond: (current.step - previous.step) / (current.seconds - previous.seconds) }
    })
    const warm = samples.find((s) => s.step === WARMUP) as Sample
    const afterWarmup = samples.filter((s) => s.step >= WARMUP)
    const round = (value: number, digits = 1) => Number(value.toFixed(digits))
    const summary = {
      steps: STEPS,
      seconds: round(seconds),
      backend: tf.getBackend(),
      rssMB: {
        start: round(samples[0]?.rssMB ?? 0),
        atWarmup: round(warm.rssMB),
        end: round(samples.at(-1)?.rssMB ?? 0),
        max: round(Math.max(...samples.map((s) => s.rssMB))),
        maxAfterWarmup: round(Math.max(...afterWarmup.map((s) => s.rssMB))),
        floorFirstTenAfterWarmup: round(Math.min(...afterWarmup.slice(0, RSS_SAMPLES).map((s) => s.rssMB))),
        floorLastTen: round(Math.min(...afterWarmup.slice(-RSS_SAMPLES).map((s) => s.rssMB)))
      },
      heapUsedMB: { atWarmup: round(warm.heapUsedMB), end: round(samples.at(-1)?.heapUsedMB ?? 0) },
      numTensors: { start: samples[0]?.numTensors, atWarmup: warm.numTensors, end: samples.at(-1)?.numTensors },
      numBytes: { atWarmup: warm.numBytes, end: samples.at(-1)?.numBytes },
      stepsPerSecondPerWindow: windows.map((w) => round(w.stepsPerSecond)),
      rssMBPerSample: samples.map((s) => Math.round(s.rssMB)),
      heapUsedMBPerSample: samples.map((s) => Math.round(s.heapUsedMB)),
      window: WINDOW,
      warmup: WARMUP
    }
    console.log(`soak summary: ${JSON.stringify(summary)}`)

    for (const s of afterWarmup) {
      assert.equal(s.numTensors, warm.numTensors, `tensors at step ${s.step}`)
      assert.equal(s.numBytes, warm.numBytes, `tensor bytes at step ${s.step}`)
    }
    const early = afterWarmup.slice(0, RSS_SAMPLES).map((s) => s.rssMB)
    const late = afterWarmup.slice(-RSS_SAMPLES).map((s) => s.rssMB)
    const floorRise = Math.min(...late) - Math.min(...early)
    const peakRise = Math.max(...late) - Math.max(...early)
    assert.ok(floorRise < FLOOR_BOUND_MB, `the RSS floor rose ${floorRise.toFixed(1)} MB (bound ${FLOOR_BOUND_MB} MB)`)
    assert.ok(peakRise < PEAK_BOUND_MB, `the RSS peak rose ${peakRise.toFixed(1)} MB (bound ${PEAK_BOUND_MB} MB)`)
    const median = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0
    const steady = windows.filter((w) => w.steps > WARMUP).map((w) => w.stepsPerSecond)
    const first = median(steady.slice(0, SPEED_WINDOWS))
    const last = median(steady.slice(-SPEED_WINDOWS))
    assert.ok(last >= first / 3, `throughput fell from ${first.toFixed(1)} to ${last.toFixed(1)} steps/s`)
  }
)
