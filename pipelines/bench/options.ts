/**
 * What `carl bench` takes. The names are the flags (`--layers 2 --hidden 128 ...`), so that the
 * command line, this type and the peer's argparse options (peer/torch_carl.py) match
 * one to one; the defaults are the peer's.
 */
import { Schema } from "effect"

export interface BenchOptions {
  /** Shape of the random BERT. */
  readonly layers: number
  readonly hidden: number
  readonly heads: number
  readonly ffn: number
  readonly vocab: number
  /** Tokens per row, padding included; rows are ragged by the peer's rule. */
  readonly seq: number
  readonly batch: number
  /** Timed CARL steps (in `--embed` mode: timed passes over the sentence set). */
  readonly steps: number
  /** Untimed steps first (AdamW makes its moments and the backend warms up in the first one). */
  readonly warmup: number
  /**
   * Threads asked for. Recorded as asked; what the backend really uses is reported beside it.
   * The peer gets the same number (without it: the number carl's backend uses).
   */
  readonly threads?: number
  /** Sentences per second of an encoder (ours and, for use-lite, the shipped graph model) instead of CARL steps. */
  readonly embed: boolean
  /**
   * The encoder: "use-lite", a folder in Hugging Face layout, or a hub id. CARL steps without it run
   * on a random BERT of the shape flags (the peer's); `--embed` without it measures use-lite.
   */
  readonly model: string | undefined
  /**
   * A valence–arousal file (as `carl train --data` reads): the batch is the first `batch` training
   * sentences of a run with this seed, cut to `seq` tokens, instead of random ids of ragged lengths.
   */
  readonly data: string | undefined
  /** Rows per micro-batch of a step (core/executor.ts); "auto" fits the backend's memory; unset: the whole batch. */
  readonly microBatch: number | "auto" | undefined
  /** With micro-batches: "keep" every one on one tape, or "recompute" (GradCache); "auto" decides with the size. */
  readonly memory: "keep" | "recompute" | undefined
  /** Also run the PyTorch peer with the same config, after carl, and print the ratio. */
  readonly peer: boolean
  /** Also print the kernels of one extra profiled step, by total time (costs one more step). */
  readonly profile: boolean
  /** Seeds the weights, ids and labels; passed to the peer as its --seed. */
  readonly seed: number
}

/** The configuration, which is also the peer's default. */
export const DEFAULT_BENCH_OPTIONS: BenchOptions = {
  layers: 2,
  hidden: 128,
  heads: 2,
  ffn: 512,
  vocab: 30522,
  seq: 64,
  batch: 32,
  steps: 5,
  warmup: 1,
  embed: false,
  model: undefined,
  data: undefined,
  microBatch: undefined,
  memory: undefined,
  peer: false,
  profile: false,
  seed: 0
}

export class BenchOptionError extends Schema.TaggedError<BenchOptionError>()("BenchOptionError", {
  option: Schema.String,
  problem: Schema.String
}) {
  override get message(): string {
    return `bench: --${this.option} ${this.problem}`
  }
}

/** The first problem with the options, or undefined. */
export const checkBenchOptions = (options: BenchOptions): BenchOptionError | undefined => {
  const wholeAtLeast = (option: string, value: number, minimum: number) =>
    Number.isInteger(value) && value >= minimum
      ? undefined
      : new BenchOptionError({ option, problem: `must be a whole number ≥ ${minimum}, got ${value}` })
  const { threads } = options
  return (
    wholeAtLeast("layers", options.layers, 1) ??
    wholeAtLeast("hidden", options.hidden, 1) ??
    wholeAtLeast("heads", options.heads, 1) ??
    wholeAtLeast("ffn", options.ffn, 1) ??
    wholeAtLeast("vocab", options.vocab, 2) ??
    // The peer's ragged rule takes seq // 2 as a modulus.
    wholeAtLeast("seq", options.seq, 2) ??
    wholeAtLeast("batch", options.batch, 1) ??
    wholeAtLeast("steps", options.steps, 1) ??
    wholeAtLeast("warmup", options.warmup, 0) ??
    wholeAtLeast("seed", options.seed, 0) ??
    (threads === undefined ? undefined : wholeAtLeast("threads", threads, 1)) ??
    (options.microBatch === undefined || options.microBatch === "auto" ? undefined : wholeAtLeast("micro-batch", options.microBatch, 1)) ??
    (!options.peer || (options.model === undefined && options.data === undefined)
      ? undefined
      : new BenchOptionError({ option: "peer", problem: "compares the random BERT of the shape flags; it cannot run with --model or --data" })) ??
    (options.hidden % options.heads === 0
      ? undefined
      : new BenchOptionError({ option: "heads", problem: `must divide --hidden ${options.hidden}, got ${options.heads}` })) ??
    (!options.peer || options.embed || options.vocab > 1000
      ? undefined
      : new BenchOptionError({ option: "vocab", problem: `must be over 1000 with --peer (the peer draws ids from [1000, vocab)), got ${options.vocab}` }))
  )
}
