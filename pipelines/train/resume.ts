/**
 * What a checkpoint carries beside the weights (the run's identity, its data position, the best
 * model so far, the memory plan), and resuming from it: the newest undamaged checkpoint, checked
 * to belong to this run (its identity, and every setting run.json records but those of memory),
 * its weights and optimiser state restored.
 */
import { readFile } from "node:fs/promises"
import { join } from "node:path"
import { Console, Effect, Schema } from "effect"
import type { AdamW } from "../../core/adamw.ts"
import type { MemoryPlan } from "../../core/memory-plan.ts"
import { loadLatestCheckpoint, restoreCheckpoint, type NamedParameterSets } from "./checkpoint.ts"
import type { SamplerPosition } from "./epoch-sampler.ts"

export class RunMismatch extends Schema.TaggedError<RunMismatch>()("RunMismatch", {
  out: Schema.String,
  problem: Schema.String
}) {
  override get message(): string {
    return `${this.out}: ${this.problem}`
  }
}

/** What identifies a run: a checkpoint of another run cannot be resumed. */
export interface RunIdentity {
  readonly model: string
  readonly variant: string
  readonly totalSteps: number
  readonly trainExamples: number
}

/** What a checkpoint's state.json carries beside the weights. */
export interface RunState extends RunIdentity {
  readonly sampler: SamplerPosition
  readonly best: { readonly step: number; readonly value: number } | undefined
  readonly seed: number
  /** How steps fit memory (core/memory-plan.ts); kept so a resumed run makes the same choices. */
  readonly memoryPlan?: MemoryPlan | undefined
}

const differences = (saved: RunIdentity, run: RunIdentity): string | undefined => {
  if (saved.model !== run.model) return `it was trained from --model ${saved.model}`
  if (saved.variant !== run.variant) return `it is a ${saved.variant} run`
  if (saved.totalSteps !== run.totalSteps) return `it runs ${saved.totalSteps} steps, this one ${run.totalSteps}`
  if (saved.trainExamples !== run.trainExamples) return `it trained on ${saved.trainExamples} examples, this data has ${run.trainExamples}`
  return undefined
}

// Settings that change only how a step fits memory, not what it computes: a resumed run may change them.
const MEMORY_ONLY = new Set(["training.microBatch", "training.memory"])

/** The first setting (a dotted path) whose value differs, or undefined. */
const firstDifference = (saved: unknown, current: unknown, path = ""): string | undefined => {
  if (MEMORY_ONLY.has(path)) return undefined
  const isObject = (value: unknown): value is Readonly<Record<string, unknown>> => typeof value === "object" && value !== null && !Array.isArray(value)
  if (isObject(saved) && isObject(current)) {
    for (const key of new Set([...Object.keys(saved), ...Object.keys(current)])) {
      const found = firstDifference(saved[key], current[key], path === "" ? key : `${path}.${key}`)
      if (found !== undefined) return found
    }
    return undefined
  }
  return JSON.stringify(saved) === JSON.stringify(current) ? undefined : path
}

/**
 * The setting where `config` differs from the one run.json records, with both values: a run
 * continued with other settings (a changed default preset, say) would silently be another run.
 */
const configDifference = (out: string, config: unknown) =>
  Effect.promise(() => readFile(join(out, "run.json"), "utf8").then((text) => (JSON.parse(text) as { readonly config?: unknown }).config, () => undefined)).pipe(
    Effect.map((saved) => {
      if (saved === undefined) return undefined
      const path = firstDifference(saved, config)
      if (path === undefined) return undefined
      const at = (root: unknown) => path.split(".").reduce<unknown>((value, key) => (typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined), root)
      return `it was trained with ${path} ${JSON.stringify(at(saved))}, this run has ${JSON.stringify(at(config))}`
    })
  )

/** Restores the newest checkpoint under `out` into `sets` and `optimizer`; its state, step and folder. */
export const resumeRun = Effect.fn("resumeRun")(function* (out: string, run: RunIdentity, config: unknown, sets: NamedParameterSets, optimizer: AdamW) {
  const loaded = yield* loadLatestCheckpoint<RunState>(out)
  const mismatch = differences(loaded.state.extra, run) ?? (yield* configDifference(out, config))
  if (mismatch !== undefined) return yield* new RunMismatch({ out, problem: `cannot resume: ${mismatch}; use the same options or another --out` })
  yield* restoreCheckpoint(loaded, sets, optimizer)
  for (const skipped of loaded.skipped) yield* Console.error(`carl: warning: skipped a damaged checkpoint: ${skipped}`)
  return { state: loaded.state.extra, step: loaded.state.step, path: loaded.path }
})
