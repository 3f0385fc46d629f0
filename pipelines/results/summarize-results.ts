/**
 * The table of docs/RESULTS.md from one `carl eval` results file: the base model as it is, and each
 * trained variant (folders named <variant>-seed<N>, as run-results.sh names them) as the mean ± the
 * sample standard deviation over its seeds.
 *
 *   npx tsx pipelines/results/summarize-results.ts runs/results/results.json [runs/results] > table.md
 *
 * With the runs folder it adds a second table from each run's metrics.jsonl: the first and last
 * step's losses, and the training run's own before/after test correlations.
 */
import { readdir, readFile } from "node:fs/promises"
import { join } from "node:path"
import { Effect } from "effect"
import { parseResults } from "../report/index.ts"

/** A model's entry as the results file decodes (undefined correlations are null there). */
type ModelResults = Effect.Success<ReturnType<typeof parseResults>>["models"][number]

const VARIANTS: ReadonlyArray<{ readonly key: string; readonly label: string }> = [
  { key: "carl", label: "CARL (MCCL + PTD)" },
  { key: "no-ptd", label: "w/o TP (MCCL only)" },
  { key: "no-mccl", label: "w/o MCCL (PTD only)" }
]

interface Column {
  readonly header: string
  readonly value: (model: ModelResults) => number | null | undefined
  /** Printed as value × scale with this many decimals. */
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
  { header: "align ↓", value: (m) => m.tasks.align?.alignment, scale: 1, digits: 3 },
  { header: "unif ↓", value: (m) => m.tasks.align?.uniformity, scale: 1, digits: 3 }
]

const mean = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0) / xs.length
const sampleStd = (xs: ReadonlyArray<number>) => {
  if (xs.length < 2) return Number.NaN
  const m = mean(xs)
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1))
}

const cell = (column: Column, models: ReadonlyArray<ModelResults>): string => {
  const values = models.map(column.value).filter((v): v is number => typeof v === "number" && Number.isFinite(v)).map((v) => v * column.scale)
  if (values.length === 0) return "–"
  if (values.length === 1) return (values[0] ?? 0).toFixed(column.digits)
  return `${mean(values).toFixed(column.digits)} ± ${sampleStd(values).toFixed(column.digits)}`
}

const variantOf = (name: string): { readonly variant: string; readonly seed: number } | undefined => {
  const match = /(carl|no-ptd|no-mccl)-seed(\d+)/.exec(name)
  return match === null ? undefined : { variant: match[1] ?? "", seed: Number(match[2]) }
}

export const summarizeResults = (text: string, source: string) =>
  Effect.gen(function* () {
    const results = yield* parseResults(text, source)
    const shown = COLUMNS.filter((column) => results.models.some((model) => column.value(model) !== undefined))
    const rows: Array<string> = []
    for (const model of results.models.filter((m) => variantOf(m.name) === undefined)) {
      rows.push(`| ${model.name} (base) | 1 | ${shown.map((column) => cell(column, [model])).join(" | ")} |`)
    }
    for (const { key, label } of VARIANTS) {
      const runs = results.models.filter((m) => variantOf(m.name)?.variant === key)
      if (runs.length === 0) continue
      const seeds = runs.map((m) => variantOf(m.name)?.seed).join(", ")
      rows.push(`| ${label} | ${runs.length} (seeds ${seeds}) | ${shown.map((column) => cell(column, runs)).join(" | ")} |`)
    }
    return [
      `| model | runs | ${shown.map((c) => c.header).join(" | ")} |`,
      `|---|---|${shown.map(() => "---:").join("|")}|`,
      ...rows,
      "",
      `Backend ${results.backend.name} (${results.backend.threads} threads), pooling ${results.pooling}, max length ${results.maxLength}, ` +
        `seed ${results.seed}, per-split cap ${results.maxExamples === undefined || results.maxExamples === null ? "none" : typeof results.maxExamples === "number" ? results.maxExamples : Object.entries(results.maxExamples).map(([name, cap]) => `${name} ${cap}`).join(", ")}; results file created ${results.createdAt}.`
    ].join("\n")
  })

interface MetricsLine {
  readonly step?: number
  readonly evaluation?: string
  readonly objective?: number
  readonly "loss.mccl"?: number
  readonly "loss.ptd"?: number
  readonly perturbationNorm?: number
  readonly "valence.pearson"?: number
  readonly "arousal.pearson"?: number
}

const fixed = (value: number | undefined, digits: number) => (value === undefined ? "–" : value.toFixed(digits))

/** One row per run folder <variant>-seed<N>: what its metrics.jsonl says about the training itself. */
export const summarizeRuns = async (runsDir: string): Promise<string> => {
  const rows: Array<string> = []
  const names = (await readdir(runsDir, { withFileTypes: true })).filter((e) => e.isDirectory() && variantOf(e.name) !== undefined).map((e) => e.name).sort()
  for (const name of names) {
    const text = await readFile(join(runsDir, name, "metrics.jsonl"), "utf8")
    const lines = text.split("\n").filter((line) => line.trim() !== "").map((line) => JSON.parse(line) as MetricsLine)
    const steps = lines.filter((line) => line.objective !== undefined)
    const evaluations = lines.filter((line) => line.evaluation !== undefined)
    const first = steps[0]
    const last = steps.at(-1)
    const before = evaluations[0]
    const after = evaluations.at(-1)
    rows.push(
      `| ${name} | ${steps.length} | ${fixed(first?.["loss.mccl"], 2)} → ${fixed(last?.["loss.mccl"], 2)} | ${fixed(first?.["loss.ptd"], 3)} → ${fixed(last?.["loss.ptd"], 3)} | ` +
        `${last?.perturbationNorm === undefined ? "–" : last.perturbationNorm.toExponential(1)} | ` +
        `${fixed(before?.["valence.pearson"], 3)} → ${fixed(after?.["valence.pearson"], 3)} | ${fixed(before?.["arousal.pearson"], 3)} → ${fixed(after?.["arousal.pearson"], 3)} |`
    )
  }
  return [
    "| run | steps | L_MCCL first → last | L_PTD first → last | last ‖ẽ − e‖ | test V r before → after | test A r before → after |",
    "|---|---:|---:|---:|---:|---:|---:|",
    ...rows
  ].join("\n")
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2]
  if (file === undefined) {
    process.stderr.write("usage: summarize-results.ts <results.json>\n")
    process.exit(2)
  }
  const text = await readFile(file, "utf8").catch((error: unknown) => {
    process.stderr.write(`summarize-results: cannot read ${file}: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(1)
  })
  const exit = await Effect.runPromiseExit(summarizeResults(text, file))
  if (exit._tag === "Failure") {
    process.stderr.write(`summarize-results: ${file}: ${String(exit.cause)}\n`)
    process.exit(1)
  }
  process.stdout.write(`${exit.value}\n`)
  const runsDir = process.argv[3]
  if (runsDir !== undefined) process.stdout.write(`\n${await summarizeRuns(runsDir)}\n`)
}
