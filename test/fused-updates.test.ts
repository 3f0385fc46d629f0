/**
 * The native backends' in-place updates (core/backend-extras.ts, native/carl_updates.c) against
 * the tfjs ops they replace, on the same backend: AdamW with its moments in host memory, the
 * momentum target's moving average and gradient accumulation give bit-identical weights, and a
 * weight whose memory a clone shares is given its own before it is written (the clone keeps its
 * values). Skipped with the reason where the addon is not built, unless CARL_REQUIRE_NATIVE=1.
 */
import assert from "node:assert/strict"
import { after, before, describe, test } from "node:test"
import * as tf from "@tensorflow/tfjs"
import "./support/backends.ts"
import { AdamW } from "../core/adamw.ts"
import { backendExtras, fusedUpdates, registerBackendExtras } from "../core/backend-extras.ts"
import { ParameterSet } from "../core/parameters.ts"
import { SeededRandom } from "../core/random.ts"
import { loadNativeKernels } from "../plugins/backends/native/addon.ts"
import { NATIVE_BACKEND, NATIVE_CPU_BACKEND, registerNativeBackend } from "../plugins/backends/native/register.ts"
import { updateMovingAverage } from "../plugins/carl/momentum/index.ts"

const addon = loadNativeKernels()
const skip = addon.ok || process.env.CARL_REQUIRE_NATIVE === "1" ? false : addon.reason

const randomTensor = (random: SeededRandom, shape: ReadonlyArray<number>, scale = 1): tf.Tensor => {
  const size = shape.reduce((a, b) => a * b, 1)
  return tf.tensor(Float32Array.from({ length: size }, () => (random.next() * 2 - 1) * scale), [...shape])
}

/** Runs `body` with the current backend's in-place updates switched off, then on again. */
const withoutFused = <A>(body: () => A): A => {
  const extras = backendExtras()
  const name = tf.getBackend()
  registerBackendExtras(name, extras.flaggedMatMul === undefined ? {} : { flaggedMatMul: extras.flaggedMatMul })
  try {
    return body()
  } finally {
    registerBackendExtras(name, extras)
  }
}

const bits = (tensor: tf.Tensor): Uint32Array => new Uint32Array(Float32Array.from(tensor.dataSync() as Float32Array).buffer)

for (const backend of [NATIVE_BACKEND, NATIVE_CPU_BACKEND] as const) {
  describe(`in-place updates on ${backend}`, { skip }, () => {
    before(async () => {
      const registered = await registerNativeBackend(2, backend)
      assert.ok(registered.ok)
      await tf.setBackend(backend)
      await tf.ready()
      assert.ok(fusedUpdates() !== undefined, "the native backend registers its in-place updates")
    })
    after(async () => {
      await tf.setBackend("cpu")
    })

    test("AdamW with host moments gives the tfjs ops' weights and moments, bit for bit, over steps", () => {
      const random = new SeededRandom(4)
      const start = randomTensor(random, [37, 19])
      const gradients = [0, 1, 2, 3].map((step) => randomTensor(random, [37, 19], step === 2 ? 1e-6 : 3))
      const run = (fused: boolean) => {
        const weight = tf.variable(start.clone())
        const names = new Map([[weight, "w"]])
        const optimizer = new AdamW({ learningRate: 1e-3, weightDecay: 0.01 })
        const step = () => gradients.forEach((gradient, i) => optimizer.apply(new Map([[weight, gradient]]), 1e-3 * (i + 1)))
        if (fused) step()
        else withoutFused(step)
        const state = optimizer.exportState(names)
        return { weight, moments: state.tensors.map(([, data]) => new Uint32Array(Float32Array.from(data.values).buffer)), optimizer }
      }
      const fused = run(true)
      const plain = run(false)
      assert.deepEqual(bits(fused.weight), bits(plain.weight), "weights")
      assert.deepEqual(fused.moments, plain.moments, "moments")
      assert.ok(fused.weight.dataSync()[0] !== start.dataSync()[0], "the weight moved")
      tf.dispose([fused.weight, plain.weight, start, ...gradients])
      fused.optimizer.dispose()
      plain.optimizer.dispose()
    })

    test("host moments survive a checkpoint: exportState then importState continues the same steps", () => {
      const random = new SeededRandom(5)
      const weight = tf.variable(randomTensor(random, [8, 3]))
      const gradient = randomTensor(random, [8, 3])
      const names = new Map([[weight, "w"]])
      const first = new AdamW()
      first.apply(new Map([[weight, gradient]]))
      const saved = first.exportState(names)
      const copy = tf.variable(tf.add(weight, 0))
      const second = new AdamW()
      const tensors = new Map(saved.tensors.map(([name, data]) => [name, { shape: data.shape, values: Float32Array.from(data.values) }]))
      second.importState({ steps: saved.steps, tensors }, new Map([[copy, "w"]]))
      first.apply(new Map([[weight, gradient]]))
      second.apply(new Map([[copy, gradient]]), undefined)
      assert.deepEqual(bits(weight), bits(copy))
      tf.dispose([weight, gradient, copy])
      first.dispose()
      second.dispose()
    })

    test("the moving average in place equals Eq. 1 in tfjs ops, and a clone of the target keeps its values", () => {
      const random = new SeededRandom(6)
      const onlineValues = randomTensor(random, [5, 7])
      const targetValues = randomTensor(random, [5, 7])
      const make = () => ({
        online: ParameterSet.fromTensors([["w", onlineValues]], { trainable: true }),
        target: ParameterSet.fromTensors([["w", targetValues]], { trainable: false })
      })
      const fused = make()
      const plain = make()
      const clone = tf.clone(fused.target.get("w"))
      const before = bits(clone)
      updateMovingAverage(fused.target, fused.online, 0.9996)
      withoutFused(() => updateMovingAverage(plain.target, plain.online, 0.9996))
      assert.deepEqual(bits(fused.target.get("w")), bits(plain.target.get("w")))
      assert.deepEqual(bits(clone), before, "a tensor sharing the target's memory is not written")
      tf.dispose([onlineValues, targetValues, clone])
      for (const set of [fused.online, fused.target, plain.online, plain.target]) set.dispose()
    })

    test("accumulation in place adds exactly, and declines memory that is shared", () => {
      const updates = fusedUpdates()
      assert.ok(updates !== undefined)
      const random = new SeededRandom(7)
      const a = randomTensor(random, [64])
      const b = randomTensor(random, [64])
      const expected = bits(tf.add(a, b))
      const accumulator = tf.add(a, 0)
      assert.equal(updates.addInto(accumulator, b), true)
      assert.deepEqual(bits(accumulator), expected)
      const shared = tf.clone(accumulator)
      assert.equal(updates.addInto(accumulator, b), false, "a clone shares the memory: tfjs must add")
      tf.dispose([a, b, accumulator, shared])
    })
  })
}
