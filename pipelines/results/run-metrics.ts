/**
 * A run folder's metrics.jsonl as the results scripts read it: the step lines, the dev evaluations
 * and the best of them by dev va.pearson. Whole lines only: a run still going may end in half a line.
 */
import { readFile } from "node:fs/promises"
import { metricsFileOf, parseJsonLine } from "../train/run-files.ts"

export type MetricsLine = Readonly<Record<string, unknown>>

export interface RunMetrics {
  /** One line per optimiser step (those with an objective). */
  readonly steps: ReadonlyArray<MetricsLine>
  /** The dev evaluations, step 0 first. */
  readonly dev: ReadonlyArray<MetricsLine>
  /** The dev evaluation with the best va.pearson. */
  readonly best: MetricsLine | undefined
}

/** A number a line holds, NaN where it holds none. */
export const numberAt = (line: MetricsLine | undefined, key: string): number => (typeof line?.[key] === "number" ? (line[key] as number) : Number.NaN)

/** The run's metrics; undefined when the folder is not a run or has taken no step yet. */
export const readRunMetrics = async (run: string): Promise<RunMetrics | undefined> => {
  const text = await readFile(metricsFileOf(run), "utf8").catch(() => "")
  const lines = text.split("\n").flatMap((line): Array<MetricsLine> => {
    const parsed = parseJsonLine(line)
    return parsed === undefined ? [] : [parsed]
  })
  const steps = lines.filter((line) => typeof line["objective"] === "number")
  if (steps.length === 0) return undefined
  const dev = lines.filter((line) => String(line["evaluation"] ?? "").includes("(dev)"))
  const best = dev.reduce<MetricsLine | undefined>((top, line) => (top === undefined || numberAt(line, "va.pearson") > numberAt(top, "va.pearson") ? line : top), undefined)
  return { steps, dev, best }
}

export const fixed = (value: number, digits = 3): string => (Number.isFinite(value) ? value.toFixed(digits) : "–")
export const scientific = (value: number): string => (Number.isFinite(value) ? value.toExponential(1) : "–")
