/**
 * Running out of memory ends in one `carl:` line saying what did not fit and what to do, with the
 * last checkpoint intact:
 *   - for real: three 1.5 GB tensors do not fit tfjs-backend-wasm's 4 GiB heap; the heap guard
 *     (core/out-of-memory.ts) turns the failed allocation into HeapExhausted, and the backend
 *     keeps working;
 *   - a training step that runs out of the wasm heap (CARL_TEST_FAULT=heap-full, the guard's own
 *     error) ends the run with the line, and --resume continues from the checkpoint before it;
 *   - V8 stopping the process with a full JavaScript heap (CARL_TEST_FAULT=js-heap, under a small
 *     --max-old-space-size) ends in the line from bin/carl.ts's watching process, without V8's report;
 *   - how a step fits memory (core/memory-plan.ts): kept on one tape while it fits, else smaller
 *     GradCache micro-batches, else the batch does not fit at all.
 */
import assert from "node:assert/strict"
import { describe, test } from "node:test"
import * as tf from "@tensorflow/tfjs"
import "./support/backends.ts"
import { choosePass, isDoesNotFit } from "../core/memory-plan.ts"
import { guardWasmHeap, HeapExhausted, outOfMemoryCause } from "../core/out-of-memory.ts"
import { assertCleanCliFailure } from "./support/run-cli.ts"
import { temporaryFolder } from "./support/temp-folder.ts"
import { createTinyRun, exists, startCarl } from "./support/tiny-run.ts"

const inWorkdir = temporaryFolder("carl-oom-")

describe("the wasm heap", () => {
  test("tensors beyond 4 GiB: HeapExhausted names the sizes, and the backend still works", async () => {
    await tf.setBackend("wasm")
    guardWasmHeap(tf.backend())
    const held: Array<tf.Tensor> = []
    const row = tf.ones([1, 1000])
    const error = (() => {
      try {
        for (let i = 0; i < 3; i++) held.push(tf.tile(row, [400_000, 1]))
        return undefined
      } catch (caught) {
        return caught
      }
    })()
    tf.dispose([...held, row])
    assert.ok(error instanceof HeapExhausted, `expected HeapExhausted, got ${String(error)}`)
    assert.match(outOfMemoryCause(error) ?? "", /the wasm heap could not give 1526 MB \(it holds \d+ MB and stops at 4096 MB\)/)
    assert.equal(tf.sum(tf.ones([10])).dataSync()[0], 10)
    await tf.setBackend("cpu")
  })

  test("other failures are told apart", () => {
    assert.match(outOfMemoryCause(new RangeError("Array buffer allocation failed")) ?? "", /could not allocate a tensor/)
    assert.equal(outOfMemoryCause(new Error("shapes [2,3] and [4,5] differ")), undefined)
  })
})

describe("a training run out of memory", () => {
  test("a step that does not fit: one line, the checkpoint before it intact, --resume finishes the run", async () => {
    await tf.setBackend("cpu")
    const tiny = await createTinyRun(inWorkdir())
    const out = inWorkdir("heap-full")
    const onWasm = tiny.args(out, { steps: 5, checkpointEvery: 1 }).map((arg) => (arg === "cpu" ? "wasm" : arg))
    const failed = await startCarl(onWasm, { CARL_TEST_FAULT: "heap-full:3" }).finished
    const line = assertCleanCliFailure(
      { args: [], status: failed.status, signal: failed.signal, stdout: failed.stdout, stderr: failed.stderr, timedOut: false, seconds: 0 },
      ["out of memory: step 3 on the wasm backend", "the wasm heap could not give", "--micro-batch", "--backend native-cpu", "checkpoints/step-000002, is intact", "--resume"]
    )
    assert.ok(line.length > 0)
    const resumed = await startCarl([...onWasm, "--resume"]).finished
    assert.equal(resumed.status, 0, resumed.stderr)
    assert.match(resumed.stdout, /resumed from .*step-000002 at step 2\/5/)
    assert.ok(await exists(`${out}/final`))
  })

  test("a full JavaScript heap: one line from the watching process, not V8's report", async () => {
    const tiny = await createTinyRun(inWorkdir("js"))
    const out = inWorkdir("js-heap")
    const failed = await startCarl(tiny.args(out, { steps: 4, checkpointEvery: 1 }), {
      CARL_TEST_FAULT: "js-heap:2",
      NODE_OPTIONS: "--max-old-space-size=160"
    }).finished
    assertCleanCliFailure(
      { args: [], status: failed.status, signal: failed.signal, stdout: failed.stdout, stderr: failed.stderr, timedOut: false, seconds: 0 },
      ["out of memory: the Node.js heap reached its limit", "carl train", "--max-old-space-size", "checkpoints/step-000001, is intact"]
    )
  })
})

describe("fitting a step to memory", () => {
  const plan = { budgetBytes: 1000, fixedBytes: 200, bytesPerToken: 1 }
  const auto = { microBatch: "auto", memory: "auto" } as const

  test("segments on one tape while the batch fits", () => {
    assert.deepEqual(choosePass(plan, [50, 40, 30, 20, 10, 10, 10, 10, 5], auto, "mask"), { microBatch: 8, lengthMask: "mask", memory: "keep" })
  })

  test("else micro-batches one at a time, as many rows as fit", () => {
    const lengths = Array.from({ length: 64 }, () => 100)
    assert.deepEqual(choosePass(plan, lengths, auto, "mask"), { microBatch: 8, lengthMask: "mask", memory: "recompute" })
    assert.deepEqual(choosePass({ ...plan, bytesPerToken: 3 }, lengths, auto, "mask"), { microBatch: 2, lengthMask: "mask", memory: "recompute" })
  })

  test("a row that does not fit at all is reported with what it needs", () => {
    const result = choosePass({ ...plan, bytesPerToken: 10 }, [100, 90], auto, "mask")
    assert.ok(isDoesNotFit(result))
    assert.deepEqual(result, { neededBytes: 1200, budgetBytes: 1000, rowTokens: 100 })
  })

  test("fixed choices are taken as they are", () => {
    assert.deepEqual(choosePass(undefined, [3], { microBatch: 4, memory: "recompute" }, "mask"), { microBatch: 4, lengthMask: "mask", memory: "recompute" })
  })
})
