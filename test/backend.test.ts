/**
 * Backend selection: a named backend is taken or fails with BackendUnavailable; `auto` takes the
 * first that works and records what it skipped and why.
 */
import assert from "node:assert/strict"
import { after, test } from "node:test"
import * as tf from "@tensorflow/tfjs"
import { Effect, Exit, Option } from "effect"
import { selectBackend } from "../plugins/backends/index.ts"
import { Backend } from "../plugins/backends/index.ts"
import { BackendUnavailable } from "../core/errors.ts"
import { loadNativeKernels } from "../plugins/backends/native/addon.ts"

const TENSORFLOW_PACKAGES: ReadonlyArray<string> = ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]

/** Whether a package loads at all (the same check selectBackend's tensorflow attempt starts with). */
const importable = (name: string): Promise<boolean> => import(name).then(
  () => true,
  () => false
)

const tensorflowImportable = async (): Promise<boolean> => {
  for (const name of TENSORFLOW_PACKAGES) if (await importable(name)) return true
  return false
}

after(async () => {
  await tf.setBackend("cpu")
  await tf.ready()
})

test('selectBackend("cpu") picks cpu and says so', async () => {
  const info = await Effect.runPromise(selectBackend("cpu"))
  assert.equal(info.name, "cpu")
  assert.equal(info.via, "@tensorflow/tfjs-backend-cpu")
  assert.match(info.reason, /cpu/)
  assert.match(info.reason, /chosen with --backend/)
  assert.equal(info.threads, 1)
  assert.deepEqual(
    info.attempts.map((a) => [a.backend, a.ok]),
    [["cpu", true]]
  )
  assert.equal(tf.getBackend(), "cpu", "the tfjs global backend is switched")
})

test('selectBackend("wasm") picks wasm', async () => {
  const info = await Effect.runPromise(selectBackend("wasm"))
  assert.equal(info.name, "wasm")
  assert.equal(info.via, "@tensorflow/tfjs-backend-wasm")
  assert.match(info.reason, /wasm/)
  assert.equal(tf.getBackend(), "wasm")
})

test("Backend.layer provides the selected backend as a service", async () => {
  const info = await Effect.runPromise(
    Effect.gen(function* () {
      return yield* Backend
    }).pipe(Effect.provide(Backend.layer("cpu")))
  )
  assert.equal(info.name, "cpu")
  assert.equal(tf.getBackend(), "cpu")
})

test('selectBackend("auto") takes tensorflow if a tfjs-node package loads, else native if built, else wasm, and records the skips', async () => {
  const hasTensorflow = await tensorflowImportable()
  const hasNative = loadNativeKernels().ok
  await tf.setBackend("cpu")
  const info = await Effect.runPromise(selectBackend("auto"))
  assert.equal(info.name, hasTensorflow ? "tensorflow" : hasNative ? "native" : "wasm")
  assert.equal(tf.getBackend(), info.name)
  assert.match(info.reason, /first available/)

  const last = info.attempts.at(-1)
  assert.ok(last !== undefined && last.ok && last.backend === info.name, "the last attempt is the one taken")
  assert.equal(info.attempts.filter((a) => a.ok).length, 1, "it stops at the first that works")

  if (!hasTensorflow) {
    const skipped = info.attempts.slice(0, -1)
    assert.deepEqual(
      skipped.map((a) => [a.backend, a.via, a.ok]),
      [
        ...TENSORFLOW_PACKAGES.map((via) => ["tensorflow", via, false]),
        ...(hasNative ? [] : [["native", "carl native kernels (OpenBLAS) on tfjs-backend-wasm", false]])
      ]
    )
    for (const attempt of skipped) {
      assert.ok(attempt.detail.length > 0, `a detail for ${attempt.via}`)
      assert.ok(info.reason.includes(`${attempt.via}: ${attempt.detail}`), "the reason names each skipped attempt")
    }
    assert.match(info.reason, /skipped/)
  }
})

test('forcing "tensorflow" without tfjs-node fails with BackendUnavailable naming both packages', async (t) => {
  if (await tensorflowImportable()) {
    t.skip("a tfjs-node package is importable here")
    return
  }
  const exit = await Effect.runPromiseExit(selectBackend("tensorflow"))
  assert.ok(Exit.isFailure(exit), "selection fails")
  const error = Exit.findErrorOption(exit)
  assert.ok(Option.isSome(error), "as a typed failure, not a defect")
  assert.ok(error.value instanceof BackendUnavailable)
  assert.equal(error.value._tag, "BackendUnavailable")
  assert.equal(error.value.backend, "tensorflow")
  assert.match(error.value.message, /^backend 'tensorflow' is not available: /)
  for (const name of TENSORFLOW_PACKAGES) assert.ok(error.value.message.includes(`${name}:`), `names ${name}`)
  assert.ok(!error.value.message.includes("\n"), "one line")
})

test("Backend.layer fails with BackendUnavailable when the forced backend is missing", async (t) => {
  if (await tensorflowImportable()) {
    t.skip("a tfjs-node package is importable here")
    return
  }
  const exit = await Effect.runPromiseExit(
    Effect.gen(function* () {
      return yield* Backend
    }).pipe(Effect.provide(Backend.layer("tensorflow")))
  )
  assert.ok(Exit.isFailure(exit))
  const error = Exit.findErrorOption(exit)
  assert.ok(Option.isSome(error) && error.value instanceof BackendUnavailable)
})
