/**
 * The recipe search's table (screen-recipes.sh): for every run folder under the given folder, the
 * best dev va.pearson its training logged and the step it came at, the dev valence and arousal r
 * there, and the last step's losses and identity-shortcut diagnostics. Ranked by the best dev
 * va.pearson: the only figure the choice of recipe may use. Then the curves: dev va.pearson at each
 * evaluation, and what reached the encoder (the median gradient norm over the steps, L_PTD and the
 * realised PGD perturbation, first and last step).
 *
 *   npx tsx pipelines/results/summarize-screen.ts runs/screen > runs/screen/screen.md
 */
import { readdir } from "node:fs/promises"
import { join } from "node:path"
import { median } from "../bench/steps.ts"
import { fixed, numberAt as number, readRunMetrics, scientific } from "./run-metrics.ts"

const folder = process.argv[2] ?? "runs/screen"
const rows: Array<{ readonly name: string; readonly best: number; readonly cells: ReadonlyArray<string> }> = []
const curves: Array<{ readonly name: string; readonly devByStep: ReadonlyMap<number, number>; readonly training: ReadonlyArray<string> }> = []
for (const entry of (await readdir(folder)).sort()) {
  const metrics = await readRunMetrics(join(folder, entry))
  if (metrics === undefined) continue
  const { steps, dev, best } = metrics
  const last = steps.at(-1)
  const first = steps[0]
  curves.push({
    name: entry,
    devByStep: new Map(dev.map((line) => [number(line, "step"), number(line, "va.pearson")])),
    training: [
      scientific(median(steps.map((line) => number(line, "gradientNorm")).filter(Number.isFinite))),
      `${fixed(number(first, "loss.ptd"))} → ${fixed(number(last, "loss.ptd"))}`,
      `${scientific(number(first, "perturbationNorm"))} → ${scientific(number(last, "perturbationNorm"))}`
    ]
  })
  rows.push({
    name: entry,
    best: number(best, "va.pearson"),
    cells: [
      entry,
      fixed(number(best, "va.pearson")),
      String(best?.["step"] ?? "–"),
      fixed(number(best, "valence.pearson")),
      fixed(number(best, "arousal.pearson")),
      fixed(number(dev[0], "va.pearson")),
      `${fixed(number(first, "loss.mccl"), 2)} → ${fixed(number(last, "loss.mccl"), 2)}`,
      fixed(number(last, "mccl.offDiagonalLoss"), 2),
      fixed(number(last, "mccl.diagonalShare")),
      fixed(number(dev.at(-1), "targetDrift"), 4),
      String(steps.length)
    ]
  })
}
rows.sort((a, b) => (Number.isNaN(a.best) ? 1 : Number.isNaN(b.best) ? -1 : b.best - a.best))
const header = ["run", "best dev VA r", "at step", "dev V r", "dev A r", "dev VA r, step 0", "L_MCCL first → last", "L_MCCL off-diagonal, last", "P_sim diagonal, last", "target drift, last", "steps"]
console.log(`| ${header.join(" | ")} |`)
console.log(`|${header.map(() => "---").join("|")}|`)
for (const row of rows) console.log(`| ${row.cells.join(" | ")} |`)

const order = rows.map((row) => row.name)
const evaluationSteps = [...new Set(curves.flatMap((curve) => [...curve.devByStep.keys()]))].sort((a, b) => a - b)
const curveHeader = ["run", ...evaluationSteps.map((step) => `step ${step}`), "median gradient norm", "L_PTD first → last", "‖ẽ − e‖ first → last"]
console.log(`\nDev VA r along training, and what reached the encoder:\n`)
console.log(`| ${curveHeader.join(" | ")} |`)
console.log(`|${curveHeader.map(() => "---").join("|")}|`)
for (const name of order) {
  const curve = curves.find((item) => item.name === name)!
  console.log(`| ${[name, ...evaluationSteps.map((step) => fixed(curve.devByStep.get(step) ?? Number.NaN)), ...curve.training].join(" | ")} |`)
}
