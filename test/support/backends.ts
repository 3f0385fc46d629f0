/**
 * Runs a group of tests once per CPU backend. Tests in a file run in order, so switching the
 * global tfjs backend in `before` is safe.
 */
import * as tf from "@tensorflow/tfjs"
import "@tensorflow/tfjs-backend-wasm"
import { before, describe } from "node:test"

tf.env().set("PROD", true)

export const TEST_BACKENDS = ["cpu", "wasm"] as const

export const forEachBackend = (name: string, body: (backend: (typeof TEST_BACKENDS)[number]) => void): void => {
  for (const backend of TEST_BACKENDS) {
    describe(`${name} [${backend}]`, () => {
      before(async () => {
        await tf.setBackend(backend)
        await tf.ready()
      })
      body(backend)
    })
  }
}
