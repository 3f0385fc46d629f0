/**
 * How a training pass fits the backend's memory: in segments on one tape while the batch's
 * activations fit, else in GradCache micro-batches small enough for one at a time (core/executor.ts).
 *
 * Memory at a pass's peak is modelled as fixed + bytesPerToken·(token positions on the tape):
 *   fixed          weights, optimiser moments and gradients (what the backend holds whatever the batch);
 *   bytesPerToken  a micro-batch's activations per token position (rows × its cut length), measured
 *                  once by a probe pass on the first batch's two longest rows (tf.profile's peak).
 * A batch's rows are longest first, so segments of `rows` rows are cut to similar lengths.
 *
 * The plan is the run's (it is saved with checkpoints): the same batch gets the same passes after a
 * resume, so a resumed run stays bit-identical to an uninterrupted one.
 */
import * as tf from "@tensorflow/tfjs"
import { runTrainingPass, type PassOptions, type StepClock } from "./executor.ts"
import type { Graph } from "./graph.ts"
import { planMicroBatches, rowLengthsOf, sliceMicroBatch } from "./micro-batch.ts"

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

/**
 * The memory plan, from a probe: one training pass (no update) on the batch's two longest rows in
 * one micro-batch on a tape. Its peak, less what was held before and the two sets of gradients a
 * micro-batched pass holds (the sums and one micro-batch's), is that micro-batch's activations.
 * `optimizerBytes` is what the optimiser will hold on the backend that it does not hold yet.
 */
export const probeMemoryPlan = async (
  graph: Graph,
  inputs: Readonly<Record<string, tf.Tensor>>,
  options: { readonly budgetBytes: number; readonly optimizerBytes: number; readonly lengthMask: string; readonly clock: StepClock }
): Promise<MemoryPlan> => {
  const mask = inputs[options.lengthMask]
  if (mask === undefined) throw new Error(`memory probe: no input '${options.lengthMask}'`)
  const lengths = rowLengthsOf(mask)
  const probeRows = Math.min(2, lengths.length)
  const longest = Math.max(1, ...lengths.slice(0, probeRows))
  const [probe] = planMicroBatches(lengths.length, mask.shape[1] ?? 1, probeRows, lengths)
  const gradients = 2 * trainableBytes(graph)
  const held = tf.memory().numBytes
  const rows = tf.tidy(() => {
    const sliced: Record<string, tf.Tensor> = {}
    for (const port of graph.inputs) {
      const value = inputs[port.name]
      if (value !== undefined && probe !== undefined) sliced[port.name] = sliceMicroBatch(value, probe, port.perToken === true)
    }
    return sliced
  })
  const profile = await tf.profile(() => {
    runTrainingPass(graph, rows, options.clock, () => {}).dispose()
    return undefined
  })
  tf.dispose(Object.values(rows))
  const activations = Math.max(0, profile.peakBytes - held - gradients)
  return {
    budgetBytes: options.budgetBytes,
    fixedBytes: held + gradients + options.optimizerBytes,
    bytesPerToken: Math.max(1, activations / (probeRows * longest))
  }
}
