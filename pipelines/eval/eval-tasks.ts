/**
 * The seven tasks as plans: the text lists each needs embedded, and how to run its evaluator on
 * those embeddings (looked up, not computed again) and turn what it returns into the results
 * file's shape. A plan depends on the corpora and the seed only, so the command and a task thread
 * (task-worker.ts) build the same one.
 */
import { basename } from "node:path"
import { crossValidatedProbeEvaluator, devProbeEvaluator, heldOutProbeEvaluator, type TextClassificationData } from "../../plugins/evaluators/classification-probes.ts"
import { embeddingGeometryEvaluator } from "../../plugins/evaluators/embedding-geometry.ts"
import type { EmbedTexts, EvaluationResult } from "../../plugins/evaluators/evaluator.ts"
import { vaCorpusEvaluator, vaRegressionEvaluator, type VaSplit } from "../../plugins/evaluators/va-regression.ts"
import type { EmbedOptions } from "../embed.ts"
import { textsKey } from "./embedding-cache.ts"
import { capFor, type EvalCorpora, type EvalTask, type MaxExamples } from "./eval-data.ts"
import type { TaskResults, VaCorpusResult } from "./eval-results.ts"

export interface TextList {
  /** "<dataset>/<split>", for progress lines. */
  readonly label: string
  readonly texts: ReadonlyArray<string>
}

export interface TaskOutcome {
  /** One line for the progress log. */
  readonly summary: string
  readonly record: (seconds: number) => TaskResults
}

export interface TaskPlan {
  readonly task: EvalTask
  readonly lists: ReadonlyArray<TextList>
  readonly run: (embed: EmbedTexts) => TaskOutcome
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

/** In-domain cross-validation of a `--va-data` corpus, as SentEval's k-fold tasks. */
const VA_DATA_FOLDS = 10

const missingCorpus = (task: EvalTask) => new Error(`eval: the corpus of task '${task}' was not loaded`)

export interface TaskSettings {
  readonly seed: number
  /** IMDB reviews per split, recorded with its result. */
  readonly maxExamples?: MaxExamples | undefined
}

/** The evaluator and text lists of each task; they do not depend on the model, so they are built once. */
export const planTasks = (tasks: ReadonlyArray<EvalTask>, corpora: EvalCorpora, options: TaskSettings): Array<TaskPlan> =>
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
        const files = corpora.vaData ?? []
        const user = files.map((read, index) => {
          // Two files of the same name (a/posts.csv, b/posts.csv) are told apart by their place on the command line.
          const base = basename(read.file)
          const name = files.filter((other) => basename(other.file) === base).length > 1 ? `${base}#${index + 1}` : base
          const corpus: VaSplit = { texts: read.examples.map((e) => e.text), valence: read.examples.map((e) => e.valence), arousal: read.examples.map((e) => e.arousal) }
          return {
            read,
            name,
            texts: corpus.texts,
            evaluator: vaCorpusEvaluator({ name, corpus, source: { train, dev }, folds: VA_DATA_FOLDS, seed: options.seed })
          }
        })
        return {
          task,
          lists: [
            { label: "emobank/train", texts: train.texts },
            { label: "emobank/dev", texts: dev.texts },
            { label: "emobank/test", texts: test.texts },
            ...user.map(({ name, texts }) => ({ label: `va-data/${name}`, texts }))
          ],
          run: (embed) => {
            const result = evaluator.evaluate(embed)
            const dimension = (from: EvaluationResult, prefix: string, name: "valence" | "arousal") => ({
              pearson: metric(from, `${prefix}${name}.pearson`),
              spearman: metric(from, `${prefix}${name}.spearman`),
              mae: metric(from, `${prefix}${name}.mae`)
            })
            const corpusResults = user.map(({ read, name, evaluator: corpusEvaluator }): VaCorpusResult => {
              const outcome = corpusEvaluator.evaluate(embed)
              return {
                name,
                file: read.file,
                examples: read.examples.length,
                scale: read.scale,
                crossCorpus: { valence: dimension(outcome, "crossCorpus.", "valence"), arousal: dimension(outcome, "crossCorpus.", "arousal") },
                inDomain: { valence: dimension(outcome, "inDomain.", "valence"), arousal: dimension(outcome, "inDomain.", "arousal"), folds: VA_DATA_FOLDS }
              }
            })
            const corpusSummary = corpusResults.map(
              (c) =>
                `; ${c.name}: in-domain valence r ${c.inDomain.valence.pearson.toFixed(3)}, arousal r ${c.inDomain.arousal.pearson.toFixed(3)}, ` +
                `cross-corpus valence r ${c.crossCorpus.valence.pearson.toFixed(3)}, arousal r ${c.crossCorpus.arousal.pearson.toFixed(3)}`
            )
            return {
              summary: `valence r ${metric(result, "valence.pearson").toFixed(3)}, arousal r ${metric(result, "arousal.pearson").toFixed(3)}${corpusSummary.join("")}`,
              record: (seconds) => ({
                va: {
                  valence: dimension(result, "", "valence"),
                  arousal: dimension(result, "", "arousal"),
                  seconds,
                  ...(corpusResults.length === 0 ? {} : { corpora: corpusResults })
                }
              })
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
          run: (embed) => {
            const result = evaluator.evaluate(embed)
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
          run: (embed) => {
            const result = evaluator.evaluate(embed)
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
          run: (embed) => {
            const result = evaluator.evaluate(embed)
            const accuracy = metric(result, "accuracy")
            return {
              summary: `accuracy ${pct(accuracy)} (λ ${metric(result, "lambda")} on ${metric(result, "heldOut")} held-out reviews; ${fitting(result)})`,
              record: (seconds) => ({ imdb: { accuracy, maxExamples: capFor(options.maxExamples, "imdb") ?? null, seconds } })
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
          run: (embed) => {
            const result = evaluator.evaluate(embed)
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
          run: (embed) => {
            const result = evaluator.evaluate(embed)
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

export interface TaskRun {
  readonly summary: string
  readonly results: TaskResults
  /** The evaluator's wall time, embeddings already at hand. */
  readonly seconds: number
}

/**
 * An embedding function that looks texts up among vectors computed earlier (several lists may share
 * texts: a deterministic encoder gives a text the same vector wherever it appears). A text that
 * was not embedded is an error, never a wrong vector.
 */
export const lookupEmbeddings = (
  entries: ReadonlyArray<{ readonly texts: ReadonlyArray<string>; readonly vectors: ReadonlyArray<Float32Array> }>
): EmbedTexts => {
  const known = new Map<string, Float32Array>()
  for (const { texts, vectors } of entries) {
    texts.forEach((text, i) => {
      const vector = vectors[i]
      if (vector === undefined) throw new Error(`embedding lookup: ${texts.length} texts but ${vectors.length} vectors`)
      known.set(text, vector)
    })
  }
  return (texts) =>
    texts.map((text) => {
      const vector = known.get(text)
      if (vector === undefined) throw new Error(`no embedding computed for the text ${JSON.stringify(text.slice(0, 60))}`)
      return vector
    })
}

/** Runs a plan on embeddings computed earlier, looked up by textsKey of each of its lists. */
export const runTaskPlan = (
  plan: TaskPlan,
  vectors: ReadonlyMap<string, ReadonlyArray<Float32Array>>,
  embed: EmbedOptions
): TaskRun => {
  const lookup = lookupEmbeddings(
    plan.lists.map((list) => {
      const found = vectors.get(textsKey(list.texts, embed))
      if (found === undefined) throw new Error(`eval: ${list.label} was not embedded`)
      return { texts: list.texts, vectors: found }
    })
  )
  const started = performance.now()
  const outcome = plan.run(lookup)
  const seconds = (performance.now() - started) / 1000
  return { summary: outcome.summary, results: outcome.record(seconds), seconds }
}
