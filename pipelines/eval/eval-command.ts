/**
 * `carl eval`: the paper's four evaluations (Tables I–IV, Figure 2) on any number of encoders.
 *
 * For each model: every text list the tasks need (a split of a dataset) is embedded once,
 * through the on-disk cache — the model is loaded only if some list is not cached, in worker
 * threads when there are cores to spare — and then each task's evaluator runs on those
 * embeddings, looked up (evaluators take an embedding function, so the same ones run on a live
 * model in training), the tasks side by side in threads. Progress and
 * per-task times go to stderr; the tables go to stdout; the results JSON is written whole.
 */
import { mkdir } from "node:fs/promises"
import { availableParallelism } from "node:os"
import { dirname } from "node:path"
import { Console, Effect } from "effect"
import { writeFileAtomic } from "../../core/atomic-file.ts"
import { type BackendInfo } from "../../plugins/backends/index.ts"
import { Backend } from "../../plugins/backends/index.ts"
import type { Pooling } from "../../plugins/encoders/index.ts"
import { loadTextEncoder } from "../../plugins/encoders/load-text-encoder.ts"
import type { EmbedOptions } from "../embed.ts"
import { CARL_VERSION } from "../version.ts"
import type { DataSpec } from "../../plugins/data/va-spec.ts"
import { defaultEmbeddingCacheDir, embedThroughCache, modelFingerprint, textsKey, type EmbeddingCache } from "./embedding-cache.ts"
import { inProcessEmbedder, startThreads, workerPoolEmbedder, type Embedder, type EmbeddingProgress } from "./embedders.ts"
import { datasetsFor, EVAL_TASKS, EvalError, loadEvalData, type EvalTask, type MaxExamples } from "./eval-data.ts"
import type { EvalResults, ModelResults, TaskResults } from "./eval-results.ts"
import { formatTables } from "./eval-tables.ts"
import { planTasks, runTaskPlan, type TaskPlan, type TaskRun } from "./eval-tasks.ts"
import type { TaskRequest, TaskWorkerSetup } from "./task-worker.ts"
import { runOnThreads, startWorkerThread, type WorkerThreadError } from "./worker-thread.ts"

export { EVAL_TASKS, EvalError, type EvalTask } from "./eval-data.ts"
export type { EvalResults } from "./eval-results.ts"

export interface EvalCommandOptions {
  /** "use-lite", model folders, or hub ids; each is loaded at most once. */
  readonly models: ReadonlyArray<string>
  /** "align" also produces the PCA. */
  readonly tasks: ReadonlyArray<EvalTask>
  /** Laid out as ../shared/data (what `carl data fetch --data-dir` fills). */
  readonly dataDir: string
  /** The results JSON. */
  readonly out: string
  /** Fixes every fold, subsample and pair sample. */
  readonly seed: number
  /** IMDB reviews per split (a seeded sample); all 25,000 when absent. */
  readonly maxExamples?: MaxExamples | undefined
  /** Your own valence–arousal corpora, evaluated by the va task beside EmoBank. */
  readonly vaData?: ReadonlyArray<DataSpec> | undefined
  readonly skipBadRows?: boolean | undefined
  readonly pooling: Pooling
  readonly batchSize: number
  readonly maxLength: number
  /** Default: $CARL_CACHE_DIR, else $XDG_CACHE_HOME/carl/embeddings, else ~/.cache/carl/embeddings. */
  readonly cacheDir?: string | undefined
  /** Use only the local hub cache for hub ids. */
  readonly offline?: boolean | undefined
  /**
   * Threads that embed on a cache miss (each with its own copy of the model) and that run tasks
   * side by side; 1 runs everything in this thread. Default: one per core, at most 4 — but for
   * embedding, 1 on the tensorflow backend, which already uses every core.
   */
  readonly workers?: number | undefined
}

const seconds = (since: number) => (performance.now() - since) / 1000

/** A line at most every 30 s, so a long list shows it is moving without flooding the log. */
const progressReporter = (label: string) => {
  let lastShown = 0
  return (progress: EmbeddingProgress): Effect.Effect<void> => {
    if (progress.done === progress.total || progress.seconds - lastShown < 30) return Effect.void
    lastShown = progress.seconds
    const rate = progress.done / Math.max(progress.seconds, 1e-9)
    return Console.error(`    ${label}: ${progress.done}/${progress.total} (${rate.toFixed(1)} texts/s, about ${Math.ceil((progress.total - progress.done) / rate / 60)} min left)`)
  }
}

const defaultThreads = (): number => Math.max(1, Math.min(availableParallelism(), 4))

/** Embedding threads: tfjs's wasm and cpu backends compute on one thread each in Node; libtensorflow on all cores. */
export const defaultEmbeddingWorkers = (backend: Pick<BackendInfo, "name">): number => (backend.name === "tensorflow" ? 1 : defaultThreads())

/** The longest first, so the threads finish together (USE-lite, native kernels, 2 threads: MR 60 s, Ekman 23 s, CR 23 s, SST-5 6 s, IMDB at 2,000 reviews 1 s). */
const TASK_ORDER: ReadonlyArray<EvalTask> = ["mr", "imdb", "ekman", "cr", "sst5", "align", "va"]

const taskLine = (run: TaskRun, task: EvalTask) => Console.error(`  ${task}: ${run.seconds.toFixed(1)} s — ${run.summary}`)

/** Every plan on `threads` task threads, longest first; the runs come back in plan order. */
const runTasksOnThreads = (
  plans: ReadonlyArray<TaskPlan>,
  vectors: ReadonlyMap<string, ReadonlyArray<Float32Array>>,
  embed: EmbedOptions,
  threads: number,
  setup: TaskWorkerSetup
): Effect.Effect<Array<TaskRun>, WorkerThreadError> =>
  Effect.gen(function* () {
    const entry = new URL("./task-worker.ts", import.meta.url)
    yield* Console.error(`  running ${plans.length} tasks on ${threads} threads`)
    const pool = yield* startThreads(threads, () => startWorkerThread<TaskRequest, TaskRun>("task thread", entry, setup))
    const jobs = [...plans].sort((a, b) => TASK_ORDER.indexOf(a.task) - TASK_ORDER.indexOf(b.task))
    const request = (plan: TaskPlan) => {
      const lists = plan.lists.map((list) => {
        const key = textsKey(list.texts, embed)
        const rows = vectors.get(key) ?? []
        const dims = rows[0]?.length ?? 0
        const flat = new Float32Array(rows.length * dims)
        rows.forEach((row, i) => flat.set(row, i * dims))
        return { key, dims, vectors: flat }
      })
      return { request: { task: plan.task, embed, lists } satisfies TaskRequest, transfer: lists.map((list) => list.vectors.buffer) }
    }
    const runs = yield* runOnThreads(
      pool.map((thread) => ({
        run: (plan: TaskPlan) => {
          const { request: message, transfer } = request(plan)
          return thread.request(message, transfer)
        }
      })),
      jobs,
      (plan, run) => taskLine(run, plan.task)
    ).pipe(Effect.ensuring(Effect.forEach(pool, (thread) => thread.terminate, { discard: true })))
    return plans.map((plan) => runs[jobs.indexOf(plan)] as TaskRun)
  })

const evaluateModel = Effect.fn("evaluateModel")(function* (
  name: string,
  plans: ReadonlyArray<TaskPlan>,
  options: EvalCommandOptions,
  cacheDir: string,
  backend: BackendInfo
) {
  const embed: EmbedOptions = { pooling: options.pooling, batchSize: options.batchSize, maxLength: options.maxLength }
  const hub = options.offline === undefined ? {} : { offline: options.offline }
  const fingerprint = yield* modelFingerprint(name, hub)
  const cache: EmbeddingCache = { dir: cacheDir, model: name, fingerprint }
  yield* Console.error(`carl eval: ${name} (cache ${cacheDir}/${fingerprint.key})`)

  const workers = options.workers ?? defaultEmbeddingWorkers(backend)
  const embedder: Embedder<WorkerThreadError | Effect.Error<ReturnType<typeof loadTextEncoder>>> =
    workers > 1
      ? workerPoolEmbedder({
          model: name,
          workers,
          backend: backend.name,
          offline: options.offline ?? false,
          onStart: Console.error(`  embedding in ${workers} worker threads (${backend.name} backend), each loading ${name}`)
        })
      : inProcessEmbedder(
          Effect.gen(function* () {
            const started = performance.now()
            const model = yield* loadTextEncoder(name, { trainable: false, hub })
            yield* Console.error(`  loaded ${name} in ${seconds(started).toFixed(1)} s`)
            return model
          })
        )

  const vectors = new Map<string, ReadonlyArray<Float32Array>>()
  let embeddingSeconds = 0
  let cacheHits = 0
  yield* Effect.gen(function* () {
    for (const list of plans.flatMap((plan) => plan.lists)) {
      const key = textsKey(list.texts, embed)
      if (vectors.has(key)) continue
      const got = yield* embedThroughCache(cache, list.texts, embed, embedder, progressReporter(list.label))
      vectors.set(key, got.vectors)
      embeddingSeconds += got.seconds
      if (got.hit) cacheHits++
      const rate = got.hit ? "" : `, ${(list.texts.length / Math.max(got.seconds, 1e-9)).toFixed(1)} texts/s${got.truncated > 0 ? `, ${got.truncated} cut to ${options.maxLength} tokens` : ""}`
      yield* Console.error(`  ${list.label}: ${list.texts.length} texts ${got.hit ? "from the cache" : "embedded"} in ${got.seconds.toFixed(1)} s${rate}`)
    }
  }).pipe(
    // The tasks need only the vectors: free the encoder (or the workers) before the probes run.
    Effect.ensuring(embedder.close)
  )

  const threads = Math.min(options.workers ?? defaultThreads(), plans.length)
  const runs =
    threads > 1
      ? yield* runTasksOnThreads(plans, vectors, embed, threads, { dataDir: options.dataDir, seed: options.seed, maxExamples: options.maxExamples, vaData: options.vaData, skipBadRows: options.skipBadRows })
      : yield* Effect.forEach(plans, (plan) =>
          Effect.sync(() => runTaskPlan(plan, vectors, embed)).pipe(Effect.tap((run) => taskLine(run, plan.task)))
        )
  const tasks = runs.reduce<TaskResults>((all, run) => ({ ...all, ...run.results }), {})
  return { name, tasks, embeddingSeconds, cacheHits } satisfies ModelResults
})

const checkOptions = (options: EvalCommandOptions): EvalError | undefined => {
  if (options.models.length === 0) return new EvalError({ problem: "name at least one model to evaluate" })
  if (options.tasks.length === 0) return new EvalError({ problem: `name at least one task (${EVAL_TASKS.join(", ")})` })
  const unknown = options.tasks.filter((task) => !EVAL_TASKS.includes(task))
  if (unknown.length > 0) return new EvalError({ problem: `unknown task ${unknown.join(", ")}; known: ${EVAL_TASKS.join(", ")}` })
  if (!(Number.isInteger(options.batchSize) && options.batchSize >= 1)) return new EvalError({ problem: `batch size must be a whole number ≥ 1, got ${options.batchSize}` })
  if (!(Number.isInteger(options.maxLength) && options.maxLength >= 2)) return new EvalError({ problem: `max length must be a whole number ≥ 2, got ${options.maxLength}` })
  if (options.workers !== undefined && !(Number.isInteger(options.workers) && options.workers >= 1)) {
    return new EvalError({ problem: `workers must be a whole number ≥ 1, got ${options.workers}` })
  }
  const caps = options.maxExamples === undefined ? [] : typeof options.maxExamples === "number" ? [options.maxExamples] : Object.values(options.maxExamples)
  const badCap = caps.find((cap) => !(Number.isInteger(cap) && cap >= 1))
  if (badCap !== undefined) return new EvalError({ problem: `max examples must be a whole number ≥ 1, got ${badCap}` })
  return undefined
}

/** Runs the tasks on every model, prints the tables, writes `out`; returns what it wrote. */
export const evalCommand = Effect.fn("evalCommand")(function* (options: EvalCommandOptions) {
  const problem = checkOptions(options)
  if (problem !== undefined) return yield* problem
  const backend = yield* Backend
  const tasks = EVAL_TASKS.filter((task) => options.tasks.includes(task))
  const cacheDir = options.cacheDir ?? defaultEmbeddingCacheDir()

  const started = performance.now()
  if ((options.vaData ?? []).length > 0 && !tasks.includes("va")) {
    return yield* new EvalError({ problem: "--va-data is evaluated by the va task: add va to --tasks" })
  }
  const data = yield* loadEvalData(options.dataDir, datasetsFor(tasks), {
    seed: options.seed,
    maxExamples: options.maxExamples,
    vaData: options.vaData,
    skipBadRows: options.skipBadRows
  })
  const userFiles = data.vaData.map((record) => record.path)
  yield* Console.error(
    `carl eval: read ${Object.keys(data.records).join(", ")} from ${options.dataDir}${userFiles.length === 0 ? "" : ` and ${userFiles.join(", ")}`} in ${seconds(started).toFixed(1)} s`
  )
  const plans = planTasks(tasks, data.corpora, { seed: options.seed, maxExamples: options.maxExamples })

  const models: Array<ModelResults> = []
  for (const name of [...new Set(options.models)]) models.push(yield* evaluateModel(name, plans, options, cacheDir, backend))

  const results: EvalResults = {
    carl: CARL_VERSION,
    createdAt: new Date().toISOString(),
    seed: options.seed,
    backend: { name: backend.name, threads: backend.threads },
    pooling: options.pooling,
    maxLength: options.maxLength,
    maxExamples: options.maxExamples ?? null,
    data: data.records,
    ...(data.vaData.length === 0 ? {} : { vaData: data.vaData }),
    models
  }
  yield* Console.log(formatTables(results))
  yield* Effect.tryPromise({
    try: async () => {
      await mkdir(dirname(options.out), { recursive: true })
      await writeFileAtomic(options.out, `${JSON.stringify(results, null, 2)}\n`)
    },
    catch: (error) => new EvalError({ problem: `cannot write ${options.out}: ${error instanceof Error ? error.message : String(error)}` })
  })
  yield* Console.error(`carl eval: wrote ${options.out} (${seconds(started).toFixed(1)} s in all)`)
  return results
})
