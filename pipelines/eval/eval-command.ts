/**
 * `carl eval`: the paper's four evaluations (Tables I–IV, Figure 2) on any number of encoders.
 *
 * For each model: every text list the tasks need (a split of a dataset) is embedded once,
 * through the on-disk cache — the model is loaded only if some list is not cached — and then
 * each task's evaluator runs on those embeddings (served by an embedding-table TextEncoder, so
 * the evaluators are the ordinary ones and could as well be handed the live model). Progress
 * and per-task times go to stderr; the tables go to stdout; the results JSON is written whole.
 */
import { readFileSync } from "node:fs"
import { mkdir } from "node:fs/promises"
import { availableParallelism } from "node:os"
import { dirname } from "node:path"
import { Console, Effect } from "effect"
import { writeFileAtomic } from "../../core/atomic-file.ts"
import { Backend, type BackendInfo } from "../../core/backend.ts"
import type { Pooling } from "../../plugins/encoder/index.ts"
import { loadTextEncoder, type TextEncoder } from "../../plugins/encoder/load-text-encoder.ts"
import { crossValidatedProbeEvaluator, devProbeEvaluator, heldOutProbeEvaluator, type TextClassificationData } from "../../plugins/evaluators/classification-probes.ts"
import { embeddingGeometryEvaluator } from "../../plugins/evaluators/embedding-geometry.ts"
import type { EvaluationResult } from "../../plugins/evaluators/evaluator.ts"
import { vaRegressionEvaluator, type VaSplit } from "../../plugins/evaluators/va-regression.ts"
import type { EmbedOptions } from "../embed.ts"
import { defaultEmbeddingCacheDir, embedThroughCache, modelFingerprint, textsKey, type EmbeddingCache } from "./embedding-cache.ts"
import { inProcessEmbedder, workerPoolEmbedder, type Embedder, type EmbeddingProgress, type EmbedWorkerError } from "./embedders.ts"
import { embeddingTableEncoder } from "./embedding-table.ts"
import { datasetsFor, EVAL_TASKS, EvalError, loadEvalData, type EvalCorpora, type EvalTask } from "./eval-data.ts"
import type { EvalResults, ModelResults, TaskResults } from "./eval-results.ts"
import { formatTables } from "./eval-tables.ts"

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
  readonly maxExamples?: number | undefined
  readonly pooling: Pooling
  readonly batchSize: number
  readonly maxLength: number
  /** Default: $CARL_CACHE_DIR, else $XDG_CACHE_HOME/carl/embeddings, else ~/.cache/carl/embeddings. */
  readonly cacheDir?: string | undefined
  /** Use only the local hub cache for hub ids. */
  readonly offline?: boolean | undefined
  /**
   * Threads that embed on a cache miss, each with its own copy of the model. Default: one per
   * core (at most 4) on the wasm and cpu backends, which run one thread each; 1 on tensorflow.
   */
  readonly workers?: number | undefined
}

const CARL_VERSION = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { readonly version: string }).version

interface TextList {
  /** "<dataset>/<split>", for progress lines. */
  readonly label: string
  readonly texts: ReadonlyArray<string>
}

interface TaskOutcome {
  /** One line for the progress log. */
  readonly summary: string
  readonly record: (seconds: number) => TaskResults
}

interface TaskPlan {
  readonly task: EvalTask
  readonly lists: ReadonlyArray<TextList>
  readonly run: (model: TextEncoder, options: EmbedOptions) => TaskOutcome
}

const metric = (result: EvaluationResult, name: string): number => result.metrics[name] ?? Number.NaN

const pct = (value: number) => `${(value * 100).toFixed(2)}%`

/** "1234 L-BFGS iterations", with any fits that hit the iteration limit. */
const fitting = (result: EvaluationResult) => {
  const unconverged = metric(result, "unconverged")
  return `${metric(result, "iterations")} L-BFGS iterations${unconverged > 0 ? `, ${unconverged} fits stopped at the iteration limit` : ""}`
}

const classification = (label: string, texts: ReadonlyArray<string>, labels: ReadonlyArray<number>) => ({
  list: { label, texts },
  data: { texts, labels } satisfies TextClassificationData
})

const missingCorpus = (task: EvalTask) => new Error(`eval: the corpus of task '${task}' was not loaded`)

/** The evaluator and text lists of each task; they do not depend on the model, so they are built once. */
const planTasks = (tasks: ReadonlyArray<EvalTask>, corpora: EvalCorpora, options: EvalCommandOptions): Array<TaskPlan> =>
  tasks.map((task): TaskPlan => {
    switch (task) {
      case "va": {
        const corpus = corpora.emobank
        if (corpus === undefined) throw missingCorpus(task)
        const split = (name: "train" | "dev" | "test"): VaSplit => {
          const examples = corpus.examples.filter((example) => example.split === name)
          return { texts: examples.map((e) => e.text), valence: examples.map((e) => e.valence), arousal: examples.map((e) => e.arousal) }
        }
        const [train, dev, test] = [split("train"), split("dev"), split("test")]
        const evaluator = vaRegressionEvaluator({ train, dev, evaluation: test, evaluationName: "test" })
        return {
          task,
          lists: [
            { label: "emobank/train", texts: train.texts },
            { label: "emobank/dev", texts: dev.texts },
            { label: "emobank/test", texts: test.texts }
          ],
          run: (model, embed) => {
            const result = evaluator.evaluate(model, embed)
            const dimension = (name: "valence" | "arousal") => ({
              pearson: metric(result, `${name}.pearson`),
              spearman: metric(result, `${name}.spearman`),
              mae: metric(result, `${name}.mae`)
            })
            return {
              summary: `valence r ${metric(result, "valence.pearson").toFixed(3)}, arousal r ${metric(result, "arousal.pearson").toFixed(3)}`,
              record: (seconds) => ({ va: { valence: dimension("valence"), arousal: dimension("arousal"), seconds } })
            }
          }
        }
      }
      case "mr":
      case "cr": {
        const corpus = corpora[task]
        if (corpus === undefined) throw missingCorpus(task)
        const { list, data } = classification(`${task}/all`, corpus.examples.map((e) => e.text), corpus.examples.map((e) => e.label))
        const evaluator = crossValidatedProbeEvaluator({ name: task, classes: 2, data, seed: options.seed, folds: 10 })
        return {
          task,
          lists: [list],
          run: (model, embed) => {
            const result = evaluator.evaluate(model, embed)
            const accuracy = metric(result, "accuracy")
            return {
              summary: `accuracy ${pct(accuracy)} (10-fold, λ from ${metric(result, "innerFolds")} inner folds, median λ ${metric(result, "lambda.median")}; ${fitting(result)})`,
              record: (seconds) => ({ [task]: { accuracy, folds: 10, seconds } })
            }
          }
        }
      }
      case "sst5": {
        const corpus = corpora.sst5
        if (corpus === undefined) throw missingCorpus(task)
        const split = (name: "train" | "dev" | "test") =>
          classification(`sst5/${name}`, corpus.splits[name].map((e) => e.text), corpus.splits[name].map((e) => e.label))
        const [train, dev, test] = [split("train"), split("dev"), split("test")]
        const evaluator = devProbeEvaluator({ name: "sst5", classes: 5, train: train.data, dev: dev.data, test: test.data })
        return {
          task,
          lists: [train.list, dev.list, test.list],
          run: (model, embed) => {
            const result = evaluator.evaluate(model, embed)
            const accuracy = metric(result, "accuracy")
            return {
              summary: `accuracy ${pct(accuracy)} (dev ${pct(metric(result, "devAccuracy"))}, λ ${metric(result, "lambda")}; ${fitting(result)})`,
              record: (seconds) => ({ sst5: { accuracy, seconds } })
            }
          }
        }
      }
      case "imdb": {
        const corpus = corpora.imdb
        if (corpus === undefined) throw missingCorpus(task)
        const split = (name: "train" | "test") =>
          classification(`imdb/${name}`, corpus.splits[name].map((e) => e.text), corpus.splits[name].map((e) => e.label))
        const [train, test] = [split("train"), split("test")]
        const evaluator = heldOutProbeEvaluator({ name: "imdb", classes: 2, train: train.data, test: test.data, seed: options.seed })
        return {
          task,
          lists: [train.list, test.list],
          run: (model, embed) => {
            const result = evaluator.evaluate(model, embed)
            const accuracy = metric(result, "accuracy")
            return {
              summary: `accuracy ${pct(accuracy)} (λ ${metric(result, "lambda")} on ${metric(result, "heldOut")} held-out reviews; ${fitting(result)})`,
              record: (seconds) => ({ imdb: { accuracy, maxExamples: options.maxExamples ?? null, seconds } })
            }
          }
        }
      }
      case "ekman": {
        const corpus = corpora.goemotions
        if (corpus === undefined) throw missingCorpus(task)
        const split = (name: "train" | "dev" | "test") =>
          classification(`goemotions-ekman/${name}`, corpus.splits[name].map((e) => e.text), corpus.splits[name].map((e) => e.label))
        const [train, dev, test] = [split("train"), split("dev"), split("test")]
        const evaluator = devProbeEvaluator({ name: "ekman", classes: corpus.classes.length, train: train.data, dev: dev.data, test: test.data })
        return {
          task,
          lists: [train.list, dev.list, test.list],
          run: (model, embed) => {
            const result = evaluator.evaluate(model, embed)
            const scores = { accuracy: metric(result, "accuracy"), precision: metric(result, "precision"), recall: metric(result, "recall"), f1: metric(result, "f1") }
            return {
              summary: `accuracy ${pct(scores.accuracy)}, macro P ${scores.precision.toFixed(3)} R ${scores.recall.toFixed(3)} F1 ${scores.f1.toFixed(3)} (λ ${metric(result, "lambda")}; ${fitting(result)})`,
              record: (seconds) => ({
                ekman: {
                  ...scores,
                  classes: corpus.classes,
                  counts: { train: train.data.texts.length, dev: dev.data.texts.length, test: test.data.texts.length },
                  seconds
                }
              })
            }
          }
        }
      }
      case "align": {
        const corpus = corpora.goemotions
        if (corpus === undefined) throw missingCorpus(task)
        const test = classification("goemotions-ekman/test", corpus.splits.test.map((e) => e.text), corpus.splits.test.map((e) => e.label))
        const evaluator = embeddingGeometryEvaluator({ classes: corpus.classes, data: test.data, seed: options.seed })
        return {
          task,
          lists: [test.list],
          run: (model, embed) => {
            const result = evaluator.evaluate(model, embed)
            const values = {
              alignment: metric(result, "alignment"),
              uniformity: metric(result, "uniformity"),
              positivePairs: metric(result, "positivePairs"),
              uniformityPairs: metric(result, "uniformityPairs")
            }
            return {
              summary:
                `alignment ${values.alignment.toFixed(4)} (${values.positivePairs} of ${metric(result, "positivePairsAvailable")} positive pairs), ` +
                `uniformity ${values.uniformity.toFixed(4)} (${values.uniformityPairs} pairs); ` +
                `PCA explains ${result.pca.explainedVariance.map((ratio) => pct(ratio)).join(" + ")}`,
              record: (seconds) => ({ align: { ...values, seconds, pca: result.pca } })
            }
          }
        }
      }
    }
  })

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

export const defaultEmbeddingWorkers = (backend: Pick<BackendInfo, "name">): number =>
  backend.name === "tensorflow" ? 1 : Math.max(1, Math.min(availableParallelism(), 4))

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
  const embedder: Embedder<EmbedWorkerError | Effect.Error<ReturnType<typeof loadTextEncoder>>> =
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

  let tasks: TaskResults = {}
  for (const plan of plans) {
    const table = embeddingTableEncoder(
      name,
      plan.lists.map((list) => ({ texts: list.texts, vectors: vectors.get(textsKey(list.texts, embed)) ?? [] })),
      { pooling: options.pooling, maxLength: options.maxLength }
    )
    const started = performance.now()
    const outcome = yield* Effect.sync(() => plan.run(table, embed)).pipe(Effect.ensuring(Effect.sync(() => table.dispose())))
    const taken = seconds(started)
    tasks = { ...tasks, ...outcome.record(taken) }
    yield* Console.error(`  ${plan.task}: ${taken.toFixed(1)} s — ${outcome.summary}`)
  }
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
  if (options.maxExamples !== undefined && !(Number.isInteger(options.maxExamples) && options.maxExamples >= 1)) {
    return new EvalError({ problem: `max examples must be a whole number ≥ 1, got ${options.maxExamples}` })
  }
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
  const data = yield* loadEvalData(options.dataDir, datasetsFor(tasks), { seed: options.seed, maxExamples: options.maxExamples })
  yield* Console.error(`carl eval: read ${Object.keys(data.records).join(", ")} from ${options.dataDir} in ${seconds(started).toFixed(1)} s`)
  const plans = planTasks(tasks, data.corpora, options)

  const models: Array<ModelResults> = []
  for (const name of [...new Set(options.models)]) models.push(yield* evaluateModel(name, plans, options, cacheDir, backend))

  const results: EvalResults = {
    carl: CARL_VERSION,
    createdAt: new Date().toISOString(),
    seed: options.seed,
    backend: { name: backend.name, threads: backend.threads },
    pooling: options.pooling,
    maxLength: options.maxLength,
    data: data.records,
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
