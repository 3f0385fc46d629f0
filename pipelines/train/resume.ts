/**
 * What a checkpoint carries beside the weights (the run's identity, its data position, the best
 * model so far, the memory plan), and resuming from it: the newest undamaged checkpoint, checked
 * to belong to this run, its weights and optimiser state restored.
 */
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

/** Restores the newest checkpoint under `out` into `sets` and `optimizer`; its state, step and folder. */
export const resumeRun = Effect.fn("resumeRun")(function* (out: string, run: RunIdentity, sets: NamedParameterSets, optimizer: AdamW) {
  const loaded = yield* loadLatestCheckpoint<RunState>(out)
  const mismatch = differences(loaded.state.extra, run)
  if (mismatch !== undefined) return yield* new RunMismatch({ out, problem: `cannot resume: ${mismatch}; use the same options or another --out` })
  yield* restoreCheckpoint(loaded, sets, optimizer)
  for (const skipped of loaded.skipped) yield* Console.error(`carl: warning: skipped a damaged checkpoint: ${skipped}`)
  return { state: loaded.state.extra, step: loaded.state.step, path: loaded.path }
})
