/**
 * What a training run says when a step cannot run: out of memory (what did not fit, what it
 * needed, what to change), or any other failure of the step, named. And the one line that tells
 * how steps fit memory (core/memory-plan.ts).
 */
import { Schema } from "effect"
import type { PassOptions } from "../../core/executor.ts"
import { OutOfMemory, problemText } from "../../core/errors.ts"
import type { Graph } from "../../core/graph.ts"
import type { MemoryPlan } from "../../core/memory-plan.ts"
import { outOfMemoryCause } from "../../core/out-of-memory.ts"

/** A training step that failed for a reason other than memory. */
export class StepFailed extends Schema.TaggedError<StepFailed>()("StepFailed", {
  step: Schema.String,
  problem: Schema.String
}) {
  override get message(): string {
    return `${this.step}: ${this.problem}`
  }
}

export const megabytes = (bytes: number): string => `${Math.round(bytes / 2 ** 20)} MB`

/** The largest trainable weight: AdamW's tfjs ops make a few temporaries of its size. */
export const largestTrainableBytes = (graph: Graph): number => Math.max(0, ...graph.trainableVariables().map((variable) => variable.size * 4))

export const describePass = (pass: PassOptions): string =>
  pass.microBatch === undefined
    ? "one pass"
    : pass.memory === "recompute"
      ? `micro-batches of ${pass.microBatch} rows, one at a time (encoder recomputed, GradCache)`
      : `segments of ${pass.microBatch} rows on one tape`

export const lowerMemoryAdvice = (backend: string): string =>
  `use smaller micro-batches (--micro-batch 2, or 1) or --memory recompute${backend === "native" || backend === "wasm" ? ", or --backend native-cpu, whose tensors are not limited to the 4 GiB wasm heap" : ", or a smaller --batch-size or --max-length"}`

export const lastCheckpointNote = (checkpoint: string): string =>
  checkpoint === "" ? "; no checkpoint had been written yet" : `; the last checkpoint, ${checkpoint}, is intact (continue with --resume)`

/**
 * `error` as OutOfMemory when it is running out of memory, else as StepFailed: `doing` says what was
 * running, `backend` which backend ran it.
 */
export const outOfMemoryOr = (
  error: unknown,
  context: { readonly doing: string; readonly backend: string; readonly lastCheckpoint?: string }
): OutOfMemory | StepFailed => {
  const cause = outOfMemoryCause(error)
  if (cause === undefined) return new StepFailed({ step: context.doing, problem: problemText(error) })
  return new OutOfMemory({
    what: `${context.doing}: ${cause}`,
    advice: `${lowerMemoryAdvice(context.backend)}${context.lastCheckpoint === undefined ? "" : lastCheckpointNote(context.lastCheckpoint)}`
  })
}

export const describePlan = (plan: MemoryPlan, where: string): string =>
  `memory: ${megabytes(plan.budgetBytes)} of ${where} planned; model, gradients and optimiser ${megabytes(plan.fixedBytes)}; ` +
  `${(plan.bytesPerToken / 1024).toFixed(0)} KB of activations per token position: batches run in segments on one tape while they fit, else in GradCache micro-batches`
