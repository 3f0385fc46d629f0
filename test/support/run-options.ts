/**
 * The options the tests run the trainer and the evaluator with: every field a test does not care
 * about at one fixed value, so a test names only what it is about. Type-only imports: loading this
 * module loads no tfjs.
 */
import type { EvalCommandOptions } from "../../pipelines/eval/eval-command.ts"
import type { TrainCommandOptions } from "../../pipelines/train/train-command.ts"
import type { TrainOptions } from "../../pipelines/train/train.ts"

/** The columns and the 1–5 scale of the tests' valence–arousal files (`text,v,a`). */
export const VA_COLUMNS = { textColumn: "text", valenceColumn: "v", arousalColumn: "a", scale: { min: 1, max: 5 } } as const

/** One CARL step, no checkpoints, no evaluations but before and after, no progress bar, offline. */
const RUN_DEFAULTS = {
  variant: "carl",
  steps: 1,
  checkpointEvery: 0,
  evalEvery: 0,
  resume: false,
  progress: "off",
  clipGradientNorm: undefined,
  offline: true
} as const

/** trainCommand's options: RUN_DEFAULTS, bad rows an error, and `options` over them. */
export const trainCommandOptions = (options: Pick<TrainCommandOptions, "model" | "data" | "out"> & Partial<TrainCommandOptions>): TrainCommandOptions => ({
  ...RUN_DEFAULTS,
  skipBadRows: false,
  ...options
})

/** train's options: RUN_DEFAULTS and `options` over them. */
export const trainOptions = (options: Pick<TrainOptions, "model" | "data" | "out" | "evalTrainLimit"> & Partial<TrainOptions>): TrainOptions => ({
  ...RUN_DEFAULTS,
  ...options
})

/** evalCommand's options: seed 1, cls pooling, batches of 8, 32 tokens, offline, one worker, and `options` over them. */
export const evalCommandOptions = (options: Pick<EvalCommandOptions, "models" | "tasks" | "dataDir" | "out"> & Partial<EvalCommandOptions>): EvalCommandOptions => ({
  seed: 1,
  pooling: "cls",
  batchSize: 8,
  maxLength: 32,
  offline: true,
  workers: 1,
  ...options
})
