/**
 * How a training pass fits the backend's memory: in segments on one tape while the batch's
 * activations fit, else in GradCache micro-batches small enough for one at a time (core/executor.ts).
 *
 * Memory at a pass's peak is modelled as fixed + bytesPerToken·(token positions on the tape):
 *   fixed          weights, optimiser moments, gradients and the rest of a pass that does not grow
 *                  with the batch;
 *   bytesPerToken  a micro-batch's activations per token position (rows × its cut length).
 * Both are measured once, by probe passes on the first batch's longest rows (the wasm heap's own
 * meter where there is one, core/out-of-memory.ts).
 * A batch's rows are longest first, so segments of `rows` rows are cut to similar lengths.
 *
 * The plan is the run's (it is saved with checkpoints): the same batch gets the same passes after a
 * resume, so a resumed run stays bit-identical to an uninterrupted one.
 */
import * as tf from "@tensorflow/tfjs"
import { runTrainingPass, type PassOptions, type StepClock } from "./executor.ts"
import type { Graph } from "./graph.ts"
import { planMicroBatches, rowLengthsOf, sliceMicroBatch } from "./micro-batch.ts"
import { heapMeter } from "./out-of-memory.ts"

/** Rows per segment or micro-batch when not told: measured fastest for USE-lite on EmoBank (docs/PERFORMANCE.md). */
export const DEFAULT_SEGMENT_ROWS = 8

/** The most a wasm heap can grow to (Emscripten's getHeapMax in tfjs-backend-wasm). */
export const WASM_HEAP_BYTES = 4294901760

export interface MemoryPlan {
  /** What the backend's tensors may take. */
  readonly budgetBytes: number
  /** Weights, optimiser state and gradients. */
  readonly fixedBytes: number
  /** Activations per token position of a micro-batch on a tape. */
  readonly bytesPerToken: number
}

export interface PassChoice {
  readonly microBatch: number | "auto"
  readonly memory: "auto" | "keep" | "recompute"
}

/** Why a batch cannot be trained in this memory even one row at a time. */
export interface DoesNotFit {
  readonly neededBytes: number
  readonly budgetBytes: number
  readonly rowTokens: number
}

/** Token positions a pass puts on one tape when `rows`-row micro-batches of these lengths (longest first) are kept. */
const keptTokens = (lengths: ReadonlyArray<number>, rows: number): number =>
  planMicroBatches(lengths.length, Math.max(1, ...lengths), rows, lengths).reduce((sum, micro) => sum + micro.rows * micro.length, 0)

/**
 * The pass for a batch whose rows have these lengths (one past each row's last real token),
 * longest first. A fixed choice is taken as it is; "auto" keeps every segment on one tape while
 * that fits and otherwise recomputes in the largest micro-batches that fit, up to `rows` rows.
 */
export const choosePass = (
  plan: MemoryPlan | undefined,
  lengths: ReadonlyArray<number>,
  choice: PassChoice,
  lengthMask: string
): PassOptions | DoesNotFit => {
  const rows = choice.microBatch === "auto" ? DEFAULT_SEGMENT_ROWS : choice.microBatch
  if (plan === undefined || (choice.memory !== "auto" && choice.microBatch !== "auto")) {
    return { microBatch: rows, lengthMask, memory: choice.memory === "auto" ? "keep" : choice.memory }
  }
  const room = plan.budgetBytes - plan.fixedBytes
  const longest = Math.max(1, ...lengths)
  if (choice.memory !== "recompute" && plan.bytesPerToken * keptTokens(lengths, rows) <= room) {
    return { microBatch: rows, lengthMask, memory: "keep" }
  }
  const fitting = Math.floor(room / (plan.bytesPerToken * longest))
  if (fitting < 1) return { neededBytes: plan.fixedBytes + plan.bytesPerToken * longest, budgetBytes: plan.budgetBytes, rowTokens: longest }
  if (choice.memory === "keep") return { microBatch: rows, lengthMask, memory: "keep" }
  return { microBatch: Math.min(rows, fitting), lengthMask, memory: "recompute" }
}

export const isDoesNotFit = (value: PassOptions | DoesNotFit): value is DoesNotFit => "neededBytes" in value

/** Bytes of every trainable weight of the graph: the size of one set of gradients. */
export const trainableBytes = (graph: Graph): number => graph.trainableVariables().reduce((sum, variable) => sum + variable.size * 4, 0)

/** Bytes held now and at the peak of `run`: from the wasm heap's own meter where there is one, else tfjs's count. */
const measurePeak = async (run: () => void): Promise<{ readonly held: number; readonly peak: number }> => {
  const meter = heapMeter(tf.backend())
  if (meter !== undefined) {
    const held = meter.live()
    meter.resetPeak()
    run()
    return { held, peak: meter.peak() }
  }
  // tfjs counts a tensor that shares another's memory (a clone, a reshape) again: an overestimate.
  const held = tf.memory().numBytes
  const profile = await tf.profile(() => {
    run()
    return undefined
  })
  return { held, peak: profile.peakBytes }
}

/**
 * The memory plan, from two probe passes (no update) on the batch's longest row, then its two
 * longest rows, each as one micro-batch on a tape: what the second holds beyond the first is one
 * row's activations, what the first holds beyond the weights is the rest of a pass (gradients, the
 * word table's dense gradient, whole-batch heads). `optimizerBytes` is what the optimiser will hold
 * on the backend that it does not hold yet.
 */
export const probeMemoryPlan = async (
  graph: Graph,
  inputs: Readonly<Record<string, tf.Tensor>>,
  options: { readonly budgetBytes: number; readonly optimizerBytes: number; readonly lengthMask: string; readonly clock: StepClock }
): Promise<MemoryPlan> => {
  const mask = inputs[options.lengthMask]
  if (mask === undefined) throw new Error(`memory probe: no input '${options.lengthMask}'`)
  const lengths = rowLengthsOf(mask)
  const seq = mask.shape[1] ?? 1
  const passOn = async (rows: number) => {
    const [probe] = planMicroBatches(lengths.length, seq, rows, lengths)
    const sliced = tf.tidy(() => {
      const values: Record<string, tf.Tensor> = {}
      for (const port of graph.inputs) {
        const value = inputs[port.name]
        if (value !== undefined && probe !== undefined) values[port.name] = sliceMicroBatch(value, probe, port.perToken === true)
      }
      return values
    })
    const measured = await measurePeak(() => runTrainingPass(graph, sliced, options.clock, () => {}).dispose())
    tf.dispose(Object.values(sliced))
    return { ...measured, tokens: (probe?.rows ?? 1) * (probe?.length ?? 1) }
  }
  const one = await passOn(1)
  const two = lengths.length > 1 ? await passOn(2) : one
  const perToken = two.tokens > one.tokens ? (two.peak - one.peak) / (two.tokens - one.tokens) : (one.peak - one.held) / one.tokens
  const bytesPerToken = Math.max(1, perToken)
  const pass = Math.max(0, one.peak - one.held - bytesPerToken * one.tokens)
  return { budgetBytes: options.budgetBytes, fixedBytes: one.held + pass + options.optimizerBytes, bytesPerToken }
}
