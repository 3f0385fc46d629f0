/**
 * The recipe options of MCCL and PGD against values computed by hand: the masked diagonal leaves
 * each sentence's pair with itself out of both softmaxes; the RBF label similarity is
 * exp(−‖y_i − y_j‖²/(2σ²)); centred cosines ignore where the batch's labels sit; a relative ε
 * gives each selected token a perturbation of ε·‖e_t‖; and the diagnostics report the diagonal's
 * share of P_sim and P_va and the loss off the diagonal.
 */
import assert from "node:assert/strict"
import { describe, test } from "node:test"
import * as tf from "@tensorflow/tfjs"
import "./support/backends.ts"
import { labelSimilarity, mcclDiagnostics, mcclLoss } from "../plugins/carl/mccl/index.ts"
import { pgdPerturbation } from "../plugins/carl/saliency-pgd/index.ts"

const close = (actual: number, expected: number, tolerance = 1e-5) =>
  assert.ok(Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected)), `${actual} against ${expected}`)

const softmaxRow = (row: ReadonlyArray<number>): Array<number> => {
  const top = Math.max(...row)
  const exps = row.map((value) => Math.exp(value - top))
  const sum = exps.reduce((a, b) => a + b, 0)
  return exps.map((value) => value / sum)
}

const cosine = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) => {
  const dot = a.reduce((sum, value, i) => sum + value * (b[i] ?? 0), 0)
  const norm = (v: ReadonlyArray<number>) => Math.sqrt(v.reduce((sum, value) => sum + value * value, 0))
  return dot / Math.max(norm(a) * norm(b), 1e-8)
}

const online = [[0.3, -1.2, 0.5], [1.1, 0.2, -0.4], [-0.7, 0.9, 0.8], [0.1, 0.4, -1.5]]
const target = [[0.2, -1.0, 0.7], [0.9, 0.1, -0.2], [-0.5, 1.1, 0.6], [0.3, 0.2, -1.2]]
const labels = [[0.4, -0.2], [-0.6, 0.5], [0.1, 0.9], [0.7, 0.3]]

describe("MCCL recipe options", () => {
  test("masked diagonal: the symmetric cross-entropy over each row's other sentences", async () => {
    await tf.setBackend("cpu")
    const n = labels.length
    let expected = 0
    for (let i = 0; i < n; i++) {
      const others = [...Array(n).keys()].filter((j) => j !== i)
      const p = softmaxRow(others.map((j) => cosine(online[i] ?? [], target[j] ?? []) / 0.05))
      const q = softmaxRow(others.map((j) => cosine(labels[i] ?? [], labels[j] ?? []) / 0.05))
      expected -= p.reduce((sum, value, k) => sum + value * Math.log(q[k] ?? 1) + (q[k] ?? 0) * Math.log(value), 0)
    }
    expected /= n
    const loss = tf.tidy(() => mcclLoss(tf.tensor2d(online), tf.tensor2d(target), tf.tensor2d(labels), { maskDiagonal: true }).dataSync()[0] ?? Number.NaN)
    close(loss, expected, 1e-4)
  })

  test("RBF labels: exp(−‖y_i − y_j‖²/(2σ²)), 1 on the diagonal", () => {
    const matrix = tf.tidy(() => labelSimilarity(tf.tensor2d(labels), { labelSimilarity: "rbf", labelBandwidth: 0.5 }).arraySync())
    const d2 = (0.4 + 0.6) ** 2 + (-0.2 - 0.5) ** 2
    close(matrix[0]?.[1] ?? Number.NaN, Math.exp(-d2 / (2 * 0.25)))
    close(matrix[2]?.[2] ?? Number.NaN, 1)
    close(matrix[1]?.[3] ?? Number.NaN, matrix[3]?.[1] ?? Number.NaN)
  })

  test("centred cosines do not change when every label moves by the same amount", () => {
    const [a, b] = tf.tidy(() => [
      labelSimilarity(tf.tensor2d(labels), { labelSimilarity: "centered-cosine", labelBandwidth: 1 }).arraySync(),
      labelSimilarity(tf.add(tf.tensor2d(labels), tf.tensor1d([0.3, -0.2])) as tf.Tensor2D, { labelSimilarity: "centered-cosine", labelBandwidth: 1 }).arraySync()
    ])
    a?.forEach((row, i) => row.forEach((value, j) => close(value, b?.[i]?.[j] ?? Number.NaN, 1e-5)))
  })

  test("the diagnostics: the diagonal's share of P_sim and P_va, and the masked loss", () => {
    const values = tf.tidy(() => {
      const d = mcclDiagnostics(tf.tensor2d(online), tf.tensor2d(target), tf.tensor2d(labels))
      const masked = mcclLoss(tf.tensor2d(online), tf.tensor2d(target), tf.tensor2d(labels), { maskDiagonal: true })
      return [d.diagonalShare, d.labelDiagonalShare, d.offDiagonalLoss, masked].map((t) => t.dataSync()[0] ?? Number.NaN)
    })
    const share = labels.map((_, i) => softmaxRow(target.map((z) => cosine(online[i] ?? [], z) / 0.05))[i] ?? 0).reduce((a, b) => a + b, 0) / labels.length
    close(values[0] ?? Number.NaN, share, 1e-4)
    assert.ok((values[1] ?? 0) > 0 && (values[1] ?? 1) < 1)
    close(values[2] ?? Number.NaN, values[3] ?? Number.NaN, 1e-5)
  })
})

describe("PGD with a relative ε", () => {
  test("each selected token's perturbation has norm ε·‖e_t‖; the others none", () => {
    const e = [[[3, 4], [1, 0], [0, 2]]]
    const delta = tf.tidy(() =>
      pgdPerturbation(tf.tensor3d(e), tf.tensor3d([[[1, -1], [1, 1], [-1, 1]]]), tf.tensor2d([[1, 0, 1]]), (x) => x, {
        epsilon: 0.1,
        epsilonScale: "relative",
        alpha: 5,
        steps: 1
      }).arraySync()
    )
    const norm = (v: ReadonlyArray<number> | undefined) => Math.hypot(...(v ?? []))
    close(norm(delta[0]?.[0]), 0.5)
    close(norm(delta[0]?.[1]), 0)
    close(norm(delta[0]?.[2]), 0.2)
  })
})
