/**
 * Full CARL steps on a random BERT of a given shape, timed as the PyTorch peer times its own
 * (peer/torch_carl.py bench): same batch rule, `warmup` untimed steps, then the median
 * of `steps` timed ones, tokens/s counting padding.
 */
import * as tf from "@tensorflow/tfjs"
import { Effect } from "effect"
import { AdamW } from "../../core/adamw.ts"
import { type BackendName } from "../../plugins/backends/index.ts"
import { Backend } from "../../plugins/backends/index.ts"
import { defaultConfig, type CarlConfig } from "../../plugins/carl/config.ts"
import { SeededRandom } from "../../core/random.ts"
import { trainStep } from "../../core/train-step.ts"
import type { PassOptions } from "../../core/executor.ts"
import { OutOfMemory } from "../../core/errors.ts"
import { fusedUpdates } from "../../core/backend-extras.ts"
import { choosePass, isDoesNotFit, probeMemoryPlan, trainableBytes, type MemoryPlan } from "../../core/memory-plan.ts"
import { rowLengthsOf } from "../../core/micro-batch.ts"
import { Ports } from "../../plugins/carl/ports.ts"
import type { Encoder } from "../../plugins/encoders/index.ts"
import { loadTextEncoder } from "../../plugins/encoders/load-text-encoder.ts"
import { batchOf, tokenizeExamples } from "../train/batches.ts"
import { EpochSampler } from "../train/epoch-sampler.ts"
import { loadTrainingData } from "../train/load-training-data.ts"
import type { TrainingExample } from "../train/training-data.ts"
import { benchSentences } from "./embed.ts"
import type { Graph } from "../../core/graph.ts"
import { type BertConfig } from "../../plugins/encoders/index.ts"
import { BertEncoder } from "../../plugins/encoders/index.ts"
import { carlGraph, createCarlModel, disposeCarlModel, type CarlBatch, type CarlModel } from "../carl-graph.ts"
import { disposeBatch } from "../synthetic-batch.ts"
import type { BenchOptions } from "./options.ts"
import { threadsReport } from "./threads.ts"

/** The peer draws ids with torch.randint(1000, vocab): ids below 1000 are BERT's special and unused tokens. */
const FIRST_ID = 1000

/** The peer's momentum schedule length; it only sets m, which costs the same whatever its value. */
const PEER_TOTAL_STEPS = 1000

/**
 * Real tokens of row b, as the peer masks them: `mask[b, max(4, seq - (b * 7) % (seq // 2)):] = 0`.
 * Capped at seq because a slice past the end masks nothing.
 */
export const raggedLength = (row: number, seq: number): number =>
  Math.min(seq, Math.max(4, seq - ((row * 7) % Math.floor(seq / 2))))

/** The BERT the peer builds for the same flags (its config_for). */
export const benchBertConfig = (options: BenchOptions): BertConfig => ({
  modelType: "bert",
  vocabSize: options.vocab,
  hiddenSize: options.hidden,
  numHiddenLayers: options.layers,
  numAttentionHeads: options.heads,
  intermediateSize: options.ffn,
  maxPositionEmbeddings: Math.max(512, options.seq + 2),
  typeVocabSize: 2,
  layerNormEps: 1e-12,
  padTokenId: 0,
  // The peer's encoder has no dropout layers.
  hiddenDropoutProb: 0,
  attentionProbsDropoutProb: 0
})

/**
 * Ids uniform in [1000, vocab) at every position, padding included, as the peer draws them; a
 * vocabulary of 1000 or fewer (tiny test shapes, where the peer's randint would fail) uses [1, vocab).
 * Valence and arousal uniform in [−1, 1].
 */
export const benchBatch = (random: SeededRandom, options: BenchOptions): CarlBatch => {
  const { batch, seq, vocab } = options
  const low = vocab > FIRST_ID ? FIRST_ID : 1
  const ids = new Int32Array(batch * seq)
  const mask = new Float32Array(batch * seq)
  const labels = new Float32Array(batch * 2)
  for (let row = 0; row < batch; row++) {
    const length = raggedLength(row, seq)
    for (let t = 0; t < seq; t++) {
      ids[row * seq + t] = low + random.int(vocab - low)
      mask[row * seq + t] = t < length ? 1 : 0
    }
    labels[row * 2] = random.next() * 2 - 1
    labels[row * 2 + 1] = random.next() * 2 - 1
  }
  return {
    tokenIds: tf.tensor2d(ids, [batch, seq], "int32"),
    attentionMask: tf.tensor2d(mask, [batch, seq]),
    vaLabels: tf.tensor2d(labels, [batch, 2])
  }
}

/** Everything one bench run holds: the CARL model, its graph, the optimiser and the batch. */
export interface BenchRun {
  readonly config: CarlConfig
  readonly model: CarlModel
  readonly graph: Graph
  readonly optimizer: AdamW
  readonly batch: CarlBatch
  /** Real tokens of the batch (its attention mask's sum). */
  readonly realTokens: number
  /** How a step's pass runs: whole, or in micro-batches cut to their rows' length (set by planPass). */
  pass: PassOptions
  /** The memory plan `--micro-batch auto` (or a micro-batch without --memory) was decided with. */
  plan: MemoryPlan | undefined
  /** Steps taken so far, warm-up included. */
  stepsTaken: number
  dispose(): void
}

const benchRun = (options: BenchOptions, encoder: Encoder, batch: CarlBatch, random: SeededRandom): BenchRun => {
  const config = defaultConfig()
  const model = createCarlModel(encoder, config, random)
  const optimizer = new AdamW(config.optimizer)
  const realTokens = tf.tidy(() => tf.sum(batch.attentionMask).dataSync()[0] ?? 0)
  return {
    config,
    model,
    graph: carlGraph(model, config),
    optimizer,
    batch,
    realTokens,
    pass: {},
    plan: undefined,
    stepsTaken: 0,
    dispose() {
      disposeBatch(batch)
      optimizer.dispose()
      disposeCarlModel(model)
    }
  }
}

/** carl's defaults throughout (AdamW, τ 0.05, PGD ε 5e-9 α 5, top 10%, λ 0.8/0.2, projection 128): the peer's settings. */
export const createBenchRun = (options: BenchOptions): BenchRun => {
  const random = new SeededRandom(options.seed)
  const encoder = BertEncoder.random(benchBertConfig(options), random.fork("encoder"), { trainable: true })
  return benchRun(options, encoder, benchBatch(random.fork("batch"), options), random)
}

/**
 * The examples of a `--model` bench: the first `batch` training sentences of `--data` in a run's
 * order (its seeded sampler), else the bench's generated sentences with random labels.
 */
const benchExamples = (options: BenchOptions) =>
  Effect.gen(function* () {
    if (options.data === undefined) {
      const random = new SeededRandom(options.seed).fork("labels")
      return benchSentences(options.batch, options.seed).map((text) => ({ text, valence: random.next() * 2 - 1, arousal: random.next() * 2 - 1 }))
    }
    const data = yield* loadTrainingData([{ file: options.data }], { seed: options.seed, skipBadRows: true })
    const { indices } = new EpochSampler(data.train.length, Math.min(options.batch, data.train.length), options.seed).next()
    return indices.map((index) => data.train[index] as TrainingExample)
  })

/** A bench run of a real encoder (`--model`): its weights, a batch of text cut to `seq` tokens, rows longest first. */
const createModelRun = (options: BenchOptions, model: string) =>
  Effect.gen(function* () {
    const text = yield* loadTextEncoder(model, { trainable: true, hub: { offline: true } })
    const examples = yield* benchExamples(options)
    const tokenized = tokenizeExamples(text.tokenizer, examples, Math.min(options.seq, text.maxLength))
    const { inputs } = batchOf(
      tokenized,
      examples.map((_, index) => index)
    )
    return benchRun(options, text.encoder, inputs, new SeededRandom(options.seed))
  })

/** One CARL step (online, target, MCCL, saliency, PGD, PTD, AdamW, EMA); false when a loss was not finite. */
export const runBenchStep = (run: BenchRun): boolean => {
  const inputs = { tokenIds: run.batch.tokenIds, attentionMask: run.batch.attentionMask, vaLabels: run.batch.vaLabels }
  const report = trainStep(run.graph, run.optimizer, inputs, { step: run.stepsTaken, totalSteps: PEER_TOTAL_STEPS }, { pass: run.pass })
  run.stepsTaken += 1
  return report.finite
}

export const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  // Python's statistics.median, which the peer uses: the mean of the two middle values when even.
  return sorted.length % 2 === 1 ? (sorted[middle] ?? Number.NaN) : ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2
}

const round = (value: number, digits: number): number => Number(value.toFixed(digits))

/** Peak resident set of this process so far (the wasm heap never shrinks, so this is the run's peak too). */
export const rssPeakMb = (): number => round(process.resourceUsage().maxRSS / 1024, 1)

/** The peer's fields: the shape it was run with, then its timings. */
export interface BenchStepsResult
  extends Pick<BenchOptions, "layers" | "hidden" | "heads" | "ffn" | "vocab" | "seq" | "batch" | "warmup" | "steps"> {
  readonly impl: "carl"
  /** "random-bert" (the shape flags, the peer's model) or what --model named. */
  readonly model: string
  /** The --data file the batch came from, or null for generated rows. */
  readonly data: string | null
  /** Rows per micro-batch, or null for the whole batch in one pass. */
  readonly micro_batch: number | null
  /** How micro-batches held their activations: "keep" (one tape) or "recompute" (GradCache). */
  readonly memory: "keep" | "recompute" | null
  /** What `--micro-batch auto` measured: the backend's budget, what the model holds, activations per token position. */
  readonly memory_plan: { readonly budget_mb: number; readonly fixed_mb: number; readonly kb_per_token: number } | null
  readonly tfjs: string
  readonly backend: BackendName
  readonly threads: number
  readonly threads_requested: number | null
  readonly threads_note: string
  /** Median of runs_ms, 2 decimals. */
  readonly ms_per_step: number
  /** batch·seq / ms_per_step · 1000, padding counted as the peer counts it, 1 decimal. */
  readonly tokens_per_s: number
  /** Real tokens of the batch (its attention mask), and per second: the figure for text batches. */
  readonly real_tokens: number
  readonly real_tokens_per_s: number
  readonly runs_ms: ReadonlyArray<number>
  readonly rss_peak_mb: number
  /**
   * tf.memory().numTensors just before the timed steps and just after them (equal when a step
   * leaks nothing), and what was left once the run was disposed, relative to before it was built.
   */
  readonly tensors: { readonly before: number; readonly after: number; readonly left_after_dispose: number }
  /** Steps whose losses were NaN or ±Inf (their update was skipped); 0 on a sane run. */
  readonly nonfinite_steps: number
}

/** Warm-up then timed steps on a built run: synchronous, so nothing but the steps is inside the clock. */
export const timeSteps = (
  run: BenchRun,
  options: Pick<BenchOptions, "warmup" | "steps">
): { readonly runsMs: ReadonlyArray<number>; readonly before: number; readonly after: number; readonly nonfinite: number } => {
  let nonfinite = 0
  for (let i = 0; i < options.warmup; i++) if (!runBenchStep(run)) nonfinite++
  const before = tf.memory().numTensors
  const runsMs: Array<number> = []
  for (let i = 0; i < options.steps; i++) {
    const started = performance.now()
    const finite = runBenchStep(run)
    runsMs.push(performance.now() - started)
    if (!finite) nonfinite++
  }
  return { runsMs, before, after: tf.memory().numTensors, nonfinite }
}

/**
 * How the bench's steps run: the whole batch at once without --micro-batch (as the peer does);
 * otherwise as `carl train` decides (core/memory-plan.ts), measuring the memory plan with a probe
 * when the micro-batch or the memory mode is "auto".
 */
const planPass = (run: BenchRun, options: BenchOptions, budgetBytes: number) =>
  Effect.gen(function* () {
    if (options.microBatch === undefined) return
    const choice = { microBatch: options.microBatch, memory: options.memory ?? ("auto" as const) }
    const lengthMask = Ports.attentionMask.name
    if (choice.microBatch === "auto" || choice.memory === "auto") {
      const optimizerBytes = fusedUpdates() === undefined ? 4 * trainableBytes(run.graph) : 0
      run.plan = yield* Effect.promise(() =>
        probeMemoryPlan(run.graph, { ...run.batch }, { budgetBytes, optimizerBytes, lengthMask, clock: { step: 0, totalSteps: PEER_TOTAL_STEPS } })
      )
    }
    const pass = choosePass(run.plan, rowLengthsOf(run.batch.attentionMask), choice, lengthMask)
    if (isDoesNotFit(pass)) {
      return yield* new OutOfMemory({
        what: `one row of ${pass.rowTokens} tokens needs ${Math.round(pass.neededBytes / 2 ** 20)} MB, more than the ${Math.round(pass.budgetBytes / 2 ** 20)} MB planned`,
        advice: "bench a smaller model or --backend native-cpu"
      })
    }
    run.pass = pass
  })

/**
 * The bench of CARL steps. `onRun` sees the run after the timed steps and before it is
 * disposed (the profiler takes its extra step there).
 */
export const benchStepsWith = <A = undefined>(options: BenchOptions, onRun?: (run: BenchRun) => Promise<A>) =>
  Effect.gen(function* () {
    const backend = yield* Backend
    const threads = yield* Effect.promise(() => threadsReport(backend, options.threads))
    const atStart = tf.memory().numTensors
    const { timing, extra } = yield* Effect.acquireUseRelease(
      options.model === undefined ? Effect.sync(() => createBenchRun(options)) : createModelRun(options, options.model),
      (run) =>
        Effect.gen(function* () {
          yield* planPass(run, options, backend.memory.budgetBytes)
          const timing = { ...timeSteps(run, options), pass: run.pass, plan: run.plan, realTokens: run.realTokens }
          const extra = onRun === undefined ? undefined : yield* Effect.promise(() => onRun(run))
          return { timing, extra }
        }),
      (run) => Effect.sync(() => run.dispose())
    )
    const ms = median(timing.runsMs)
    const result: BenchStepsResult = {
      impl: "carl",
      model: options.model ?? "random-bert",
      data: options.data ?? null,
      micro_batch: timing.pass.microBatch ?? null,
      memory: timing.pass.memory ?? null,
      memory_plan:
        timing.plan === undefined
          ? null
          : { budget_mb: round(timing.plan.budgetBytes / 2 ** 20, 0), fixed_mb: round(timing.plan.fixedBytes / 2 ** 20, 0), kb_per_token: round(timing.plan.bytesPerToken / 1024, 1) },
      tfjs: tf.version.tfjs,
      backend: backend.name,
      threads: threads.threads,
      threads_requested: threads.requested,
      threads_note: threads.note,
      layers: options.layers,
      hidden: options.hidden,
      heads: options.heads,
      ffn: options.ffn,
      vocab: options.vocab,
      seq: options.seq,
      batch: options.batch,
      warmup: options.warmup,
      steps: options.steps,
      ms_per_step: round(ms, 2),
      tokens_per_s: round(((options.batch * options.seq) / ms) * 1000, 1),
      real_tokens: timing.realTokens,
      real_tokens_per_s: round((timing.realTokens / ms) * 1000, 1),
      runs_ms: timing.runsMs.map((value) => round(value, 1)),
      rss_peak_mb: rssPeakMb(),
      tensors: { before: timing.before, after: timing.after, left_after_dispose: tf.memory().numTensors - atStart },
      nonfinite_steps: timing.nonfinite
    }
    return { result, extra }
  })

/** `carl bench` without --embed: needs the Backend service (the backend must already be selected). */
export const benchSteps = Effect.fn("benchSteps")(function* (options: BenchOptions) {
  const { result } = yield* benchStepsWith(options)
  return result
})
