/**
 * docs/RESULTS.md's tables from a run-results.sh folder: every `eval/<variant>-seed<N>.json` (one
 * `carl eval` results file per model, `eval/use-lite.json` the base; `eval/extra/` the same names
 * with tasks added later) and every run folder's metrics.jsonl.
 *
 *   npx tsx pipelines/results/summarize-results.ts runs/results > runs/results/RESULTS-table.md
 *
 * Table 1: held-out metrics, mean ± sample sd over seeds. Table 2: each variant against the base
 * model and the supervised baseline on valence and arousal r, in units of the variant's sd.
 * Table 3: what training logged: the best dev step, the MCCL loss, the identity-shortcut
 * diagnostics, the target's drift, the gradient norm (all weights, and the encoder's part).
 * Table 4: each ablation run against the full CARL run of its seed. Table 5: dev VA r along
 * training.
 */
import { existsSync } from "node:fs"
import { readdir, readFile } from "node:fs/promises"
import { basename, join } from "node:path"
import { Effect } from "effect"
import { mean } from "../../plugins/evaluators/math/statistics.ts"
import { median } from "../bench/steps.ts"
import { parseResults } from "../report/index.ts"
import { numberAt as num, readRunMetrics, scientific } from "./run-metrics.ts"

type ModelResults = Effect.Success<ReturnType<typeof parseResults>>["models"][number]

const VARIANTS: ReadonlyArray<{ readonly key: string; readonly label: string }> = [
  { key: "plain", label: "supervised (--plain, lr 1e-4)" },
  { key: "paper", label: "CARL, the paper's settings" },
  { key: "paper-no-ptd", label: "  w/o TP (MCCL only)" },
  { key: "paper-no-mccl", label: "  w/o MCCL (PTD only)" },
  { key: "recipe", label: "CARL, the recipe" },
  { key: "recipe-no-ptd", label: "  recipe w/o TP" },
  { key: "recipe-no-mccl", label: "  recipe w/o MCCL" }
]

interface Column {
  readonly header: string
  readonly value: (model: ModelResults) => number | null | undefined
  readonly scale: number
  readonly digits: number
}

const COLUMNS: ReadonlyArray<Column> = [
  { header: "V r", value: (m) => m.tasks.va?.valence.pearson, scale: 1, digits: 3 },
  { header: "V ρ", value: (m) => m.tasks.va?.valence.spearman, scale: 1, digits: 3 },
  { header: "V MAE", value: (m) => m.tasks.va?.valence.mae, scale: 1, digits: 3 },
  { header: "A r", value: (m) => m.tasks.va?.arousal.pearson, scale: 1, digits: 3 },
  { header: "A ρ", value: (m) => m.tasks.va?.arousal.spearman, scale: 1, digits: 3 },
  { header: "A MAE", value: (m) => m.tasks.va?.arousal.mae, scale: 1, digits: 3 },
  { header: "MR", value: (m) => m.tasks.mr?.accuracy, scale: 100, digits: 2 },
  { header: "CR", value: (m) => m.tasks.cr?.accuracy, scale: 100, digits: 2 },
  { header: "SST-5", value: (m) => m.tasks.sst5?.accuracy, scale: 100, digits: 2 },
  { header: "IMDB", value: (m) => m.tasks.imdb?.accuracy, scale: 100, digits: 2 },
  { header: "Ekman acc", value: (m) => m.tasks.ekman?.accuracy, scale: 100, digits: 2 },
  { header: "Ekman F1", value: (m) => m.tasks.ekman?.f1, scale: 1, digits: 3 },
  { header: "align", value: (m) => m.tasks.align?.alignment, scale: 1, digits: 3 },
  { header: "unif", value: (m) => m.tasks.align?.uniformity, scale: 1, digits: 3 }
]

const sampleSd = (xs: ReadonlyArray<number>): number => {
  if (xs.length < 2) return Number.NaN
  const m = mean(xs)
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1))
}

const finite = (values: ReadonlyArray<number | null | undefined>): Array<number> => values.filter((v): v is number => typeof v === "number" && Number.isFinite(v))

const meanSd = (values: ReadonlyArray<number>, digits: number): string =>
  values.length === 0 ? "–" : values.length === 1 ? (values[0] ?? 0).toFixed(digits) : `${mean(values).toFixed(digits)} ± ${sampleSd(values).toFixed(digits)}`

const cell = (column: Column, models: ReadonlyArray<ModelResults>): string =>
  meanSd(finite(models.map(column.value)).map((v) => v * column.scale), column.digits)

const runName = /^(.+)-seed(\d+)$/

/** An ablation's variant key and the full CARL it removes a part of: paper-no-ptd → paper. */
const ablation = /^(.+)-no-(?:ptd|mccl)$/

interface Evaluated {
  readonly variant: string
  readonly seed: number
  readonly model: ModelResults
}

/** The model of each results file in `dir`, by file name. */
const readModels = async (dir: string): Promise<Map<string, ModelResults>> => {
  const models = new Map<string, ModelResults>()
  for (const file of (await readdir(dir)).filter((name) => name.endsWith(".json")).sort()) {
    const results = await Effect.runPromise(parseResults(await readFile(join(dir, file), "utf8"), join(dir, file)))
    const [model] = results.models
    if (model !== undefined) models.set(basename(file, ".json"), model)
  }
  return models
}

/** eval/<name>.json, with the tasks only eval/extra/<name>.json has (run-results.sh's EXTRA_TASKS) added. */
const readEvaluations = async (folder: string): Promise<{ readonly base: ModelResults | undefined; readonly runs: Array<Evaluated> }> => {
  const extraDir = join(folder, "eval", "extra")
  const extra = existsSync(extraDir) ? await readModels(extraDir) : new Map<string, ModelResults>()
  let base: ModelResults | undefined
  const runs: Array<Evaluated> = []
  for (const [name, evaluated] of await readModels(join(folder, "eval"))) {
    const added = extra.get(name)
    const model: ModelResults = added === undefined ? evaluated : { ...evaluated, tasks: { ...added.tasks, ...evaluated.tasks } }
    const match = runName.exec(name)
    if (match === null) base = model
    else runs.push({ variant: match[1] ?? "", seed: Number(match[2]), model })
  }
  return { base, runs }
}


interface Training {
  readonly variant: string
  readonly bestStep: number
  readonly bestDev: number
  readonly devAtZero: number
  readonly mcclFirst: number
  readonly mcclLast: number
  readonly diagonalLast: number
  readonly driftLast: number
  readonly gradientMedian: number
  readonly encoderGradientMedian: number
  readonly perturbationLast: number
  readonly ptdLast: number
  /** Dev VA r by step, at every evaluation. */
  readonly devCurve: ReadonlyMap<number, number>
  readonly seed: number
  /** L_MCCL of every step, in order. */
  readonly mcclSteps: ReadonlyArray<number>
}

const readTraining = async (folder: string): Promise<Array<Training>> => {
  const out: Array<Training> = []
  for (const entry of (await readdir(folder)).filter((name) => runName.test(name)).sort()) {
    const metrics = await readRunMetrics(join(folder, entry))
    if (metrics === undefined) continue
    const { steps, dev, best } = metrics
    const first = steps[0]
    const last = steps.at(-1)
    out.push({
      variant: runName.exec(entry)?.[1] ?? entry,
      seed: Number(runName.exec(entry)?.[2]),
      mcclSteps: steps.map((line) => num(line, "loss.mccl")),
      bestStep: num(best, "step"),
      bestDev: num(best, "va.pearson"),
      devAtZero: num(dev[0], "va.pearson"),
      mcclFirst: num(first, "loss.mccl"),
      mcclLast: num(last, "loss.mccl"),
      diagonalLast: num(last, "mccl.diagonalShare"),
      driftLast: num(dev.at(-1), "targetDrift"),
      gradientMedian: median(finite(steps.map((line) => num(line, "gradientNorm")))),
      encoderGradientMedian: median(finite(steps.map((line) => num(line, "gradientNorm.encoder")))),
      perturbationLast: num(last, "perturbationNorm"),
      ptdLast: num(last, "loss.ptd"),
      devCurve: new Map(dev.map((line) => [num(line, "step"), num(line, "va.pearson")]))
    })
  }
  return out
}

export const summarize = async (folder: string): Promise<string> => {
  const { base, runs } = await readEvaluations(folder)
  const all = [...(base === undefined ? [] : [base]), ...runs.map((run) => run.model)]
  const shown = COLUMNS.filter((column) => all.some((model) => finite([column.value(model)]).length > 0))
  const lines: Array<string> = []
  lines.push(`| model | seeds | ${shown.map((c) => c.header).join(" | ")} |`, `|---|---|${shown.map(() => "---:").join("|")}|`)
  if (base !== undefined) lines.push(`| base USE-lite | – | ${shown.map((column) => cell(column, [base])).join(" | ")} |`)
  const byVariant = (key: string) => runs.filter((run) => run.variant === key)
  for (const { key, label } of VARIANTS) {
    const chosen = byVariant(key)
    if (chosen.length === 0) continue
    lines.push(`| ${label} | ${chosen.map((run) => run.seed).join(", ")} | ${shown.map((column) => cell(column, chosen.map((run) => run.model))).join(" | ")} |`)
  }

  // Against the base model and the supervised baseline: the difference of means, and how many of the variant's sds it is.
  const plain = byVariant("plain").map((run) => run.model)
  const against = (values: ReadonlyArray<number>, reference: ReadonlyArray<number>) => {
    if (values.length === 0 || reference.length === 0) return "–"
    const difference = mean(values) - mean(reference)
    const sd = sampleSd(values)
    return `${difference >= 0 ? "+" : ""}${difference.toFixed(3)}${Number.isFinite(sd) && sd > 0 ? ` (${(difference / sd).toFixed(1)} sd)` : ""}`
  }
  // An ablation (paper-no-ptd, recipe-no-mccl, …) also against the full CARL it removes a part of.
  const fullOf = (key: string) => ablation.exec(key)?.[1]
  lines.push("", "| model | V r − base | A r − base | V r − supervised | A r − supervised | V r − full CARL | A r − full CARL |", "|---|---:|---:|---:|---:|---:|---:|")
  for (const { key, label } of VARIANTS) {
    const chosen = byVariant(key).map((run) => run.model)
    if (chosen.length === 0) continue
    const values = (dimension: "valence" | "arousal", models: ReadonlyArray<ModelResults>) => finite(models.map((m) => m.tasks.va?.[dimension].pearson))
    const baseline = base === undefined ? [] : [base]
    const fullKey = fullOf(key)
    const full = fullKey === undefined ? [] : byVariant(fullKey).map((run) => run.model)
    lines.push(
      `| ${label} | ${against(values("valence", chosen), values("valence", baseline))} | ${against(values("arousal", chosen), values("arousal", baseline))} | ` +
        `${key === "plain" ? "–" : against(values("valence", chosen), values("valence", plain))} | ${key === "plain" ? "–" : against(values("arousal", chosen), values("arousal", plain))} | ` +
        `${full.length === 0 ? "–" : against(values("valence", chosen), values("valence", full))} | ${full.length === 0 ? "–" : against(values("arousal", chosen), values("arousal", full))} |`
    )
  }

  const training = await readTraining(folder)
  if (training.length > 0) {
    lines.push(
      "",
      "| model | best dev step | dev VA r: step 0 → best | L_MCCL first → last | P_sim diagonal, last | target drift, last | gradient norm, median | at the encoder | L_PTD, last | ‖ẽ − e‖, last |",
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    for (const { key, label } of VARIANTS) {
      const chosen = training.filter((run) => run.variant === key)
      if (chosen.length === 0) continue
      const of = (pick: (run: Training) => number, digits: number) => meanSd(finite(chosen.map(pick)), digits)
      const exp = (pick: (run: Training) => number) => scientific(mean(finite(chosen.map(pick))))
      lines.push(
        `| ${label} | ${chosen.map((run) => run.bestStep).join(", ")} | ${of((r) => r.devAtZero, 3)} → ${of((r) => r.bestDev, 3)} | ${of((r) => r.mcclFirst, 2)} → ${of((r) => r.mcclLast, 2)} | ` +
          `${of((r) => r.diagonalLast, 3)} | ${of((r) => r.driftLast, 4)} | ${of((r) => r.gradientMedian, 2)} | ${of((r) => r.encoderGradientMedian, 2)} | ${of((r) => r.ptdLast, 3)} | ${exp((r) => r.perturbationLast)} |`
      )
    }

    // Each ablation seed for seed against the full CARL of the same seed: how far its training log
    // strays from the full method's, and where its own best model and test figures land.
    const ablations = training.filter((run) => ablation.test(run.variant))
    if (ablations.length > 0) {
      lines.push(
        "",
        "| run | best dev step | dev VA r, last | test V r | test A r | max abs(ΔL_MCCL) over steps, against the full CARL's same seed | max abs(Δ dev VA r) over evaluations |",
        "|---|---:|---:|---:|---:|---:|---:|"
      )
      for (const run of ablations) {
        const full = training.find((other) => other.variant === fullOf(run.variant) && other.seed === run.seed)
        const evaluated = runs.find((other) => other.variant === run.variant && other.seed === run.seed)?.model.tasks.va
        const largest = (differences: ReadonlyArray<number>) => (differences.length === 0 ? "–" : Math.max(...differences).toFixed(4))
        const mcclDifference = full === undefined ? [] : finite(run.mcclSteps.map((value, i) => Math.abs(value - (full.mcclSteps[i] ?? Number.NaN))))
        const devDifference = full === undefined ? [] : finite([...run.devCurve].map(([step, value]) => Math.abs(value - (full.devCurve.get(step) ?? Number.NaN))))
        const lastDev = [...run.devCurve].at(-1)?.[1]
        lines.push(
          `| ${run.variant}-seed${run.seed} | ${run.bestStep} | ${lastDev?.toFixed(3) ?? "–"} | ${evaluated?.valence.pearson?.toFixed(3) ?? "–"} | ${evaluated?.arousal.pearson?.toFixed(3) ?? "–"} | ` +
            `${largest(mcclDifference)} | ${largest(devDifference)} |`
        )
      }
    }

    // Dev VA r along training every 20 steps (the paper's screening run evaluated only those).
    const steps = [0, 20, 40, 60, 80, 100, 120]
    lines.push("", `| model | ${steps.map((step) => `dev VA r, step ${step}`).join(" | ")} |`, `|---|${steps.map(() => "---:").join("|")}|`)
    for (const { key, label } of VARIANTS) {
      const chosen = training.filter((run) => run.variant === key)
      if (chosen.length === 0) continue
      lines.push(`| ${label} | ${steps.map((step) => meanSd(finite(chosen.map((run) => run.devCurve.get(step))), 3)).join(" | ")} |`)
    }
  }
  return lines.join("\n")
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const folder = process.argv[2]
  if (folder === undefined) {
    process.stderr.write("usage: summarize-results.ts <run-results folder>\n")
    process.exit(2)
  }
  process.stdout.write(`${await summarize(folder)}\n`)
}
