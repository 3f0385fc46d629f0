/**
 * The files of a run folder besides checkpoints: run.json (what was run), metrics.jsonl (one JSON
 * line per step and per evaluation, appended), and their cut-back on resume so the log reads as
 * one uninterrupted run. A file that cannot be written is a RunFileError naming it.
 */
import { appendFile, mkdir, readFile, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { Effect, Schema } from "effect"
import { fileSystemProblem, writeFileAtomic } from "../../core/atomic-file.ts"

/** A run file (run.json, metrics.jsonl) that cannot be written. */
export class RunFileError extends Schema.TaggedError<RunFileError>()("RunFileError", {
  file: Schema.String,
  problem: Schema.String
}) {
  override get message(): string {
    return `${this.file}: ${this.problem}`
  }
}

const writeRunFile = (file: string, write: () => Promise<void>) =>
  Effect.tryPromise({ try: write, catch: (error) => new RunFileError({ file, problem: `cannot write: ${fileSystemProblem(error)}` }) })

export const metricsFileOf = (out: string): string => join(out, "metrics.jsonl")

/** The run folder made, run.json written (pretty), metrics.jsonl started empty. */
export const startRunFiles = (out: string, record: unknown) =>
  Effect.gen(function* () {
    yield* writeRunFile(out, () => mkdir(out, { recursive: true }).then(() => undefined))
    yield* writeRunFile(join(out, "run.json"), () => writeFile(join(out, "run.json"), `${JSON.stringify(record, null, 2)}\n`))
    yield* writeRunFile(metricsFileOf(out), () => writeFile(metricsFileOf(out), ""))
  })

/** One line of metrics.jsonl. */
export const logMetrics = (out: string, record: Readonly<Record<string, unknown>>) =>
  writeRunFile(metricsFileOf(out), () => appendFile(metricsFileOf(out), `${JSON.stringify(record)}\n`))

/** A whole JSON object line, or undefined for a line cut short by a kill. */
export const parseJsonLine = (line: string): Record<string, unknown> | undefined => {
  if (!line.startsWith("{") || !line.endsWith("}")) return undefined
  try {
    const parsed: unknown = JSON.parse(line)
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

/**
 * metrics.jsonl as it was when the checkpoint of `step` was written: whole lines of earlier
 * steps, and of this step all but the final test evaluation (written after the last checkpoint).
 * A run killed mid-line leaves no broken line, and redone steps are not logged twice.
 */
const metricsUpTo = (text: string, step: number, finalEvaluation: string): string =>
  text
    .split("\n")
    .filter((line) => {
      const record = parseJsonLine(line)
      if (record === undefined || typeof record["step"] !== "number") return false
      return record["step"] < step || (record["step"] === step && (step === 0 || record["evaluation"] !== finalEvaluation))
    })
    .map((line) => `${line}\n`)
    .join("")

/** metrics.jsonl cut back to what it held at the checkpoint of `step` (see metricsUpTo). */
export const cutMetricsBackTo = (out: string, step: number, finalEvaluation: string) =>
  Effect.gen(function* () {
    const file = metricsFileOf(out)
    const logged = yield* Effect.promise(() => readFile(file, "utf8").catch(() => ""))
    yield* writeRunFile(file, () => writeFileAtomic(file, metricsUpTo(logged, step, finalEvaluation)))
  })
