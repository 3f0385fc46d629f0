/**
 * The embedding cache (a second call embeds nothing and loads no model; entries are keyed by
 * model, texts, pooling and max length; a damaged entry is recomputed) and `evalCommand` end to
 * end on a small random BERT folder (the real bert-base-uncased tokenizer) over a data folder the
 * test writes in ../shared/data's layout: every task, the results file decoded by the report's
 * own schema, a warm second run served wholly from the cache, and missing data named with the
 * command that fetches it.
 */
import assert from "node:assert/strict"
import { cp, mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { after, before, describe, test } from "node:test"
import * as tf from "@tensorflow/tfjs"
import { Console, Effect } from "effect"
import { Backend } from "../plugins/backends/index.ts"
import { SeededRandom } from "../core/random.ts"
import { saveBertDirectory } from "../plugins/encoders/index.ts"
import { TINY_BERT_CONFIG } from "../plugins/encoders/index.ts"
import { BertEncoder } from "../plugins/encoders/index.ts"
import { loadTextEncoder, type TextEncoder } from "../plugins/encoders/load-text-encoder.ts"
import { defaultEmbeddingCacheDir, embedThroughCache, modelFingerprint, type EmbeddingCache } from "../pipelines/eval/embedding-cache.ts"
import { inProcessEmbedder, workerPoolEmbedder } from "../pipelines/eval/embedders.ts"
import { embeddingTableEncoder } from "./support/embedding-table.ts"
import { evalCommand, type EvalCommandOptions } from "../pipelines/eval/eval-command.ts"
import { EVAL_TASKS, readEvalCorpora } from "../pipelines/eval/eval-data.ts"
import { parseResults } from "../pipelines/report/index.ts"
import { TINY_EVAL_COUNTS, writeTinyEvalData } from "./support/tiny-eval-data.ts"
import "./support/backends.ts"

const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url))
const TOKENIZER_DIR = join(REPO_ROOT, "..", "shared", "models", "bert-base-uncased-tokenizer")
const OPTIONS = { pooling: "cls", batchSize: 8, maxLength: 32 } as const

let workdir = ""

before(async () => {
  await tf.setBackend("cpu")
  workdir = await mkdtemp(join(tmpdir(), "carl-eval-"))
})

after(async () => {
  await rm(workdir, { recursive: true, force: true })
})

/** A TextEncoder that counts its tokenizer calls: every embedding goes through one. */
const counting = (model: TextEncoder) => {
  const counter = { calls: 0 }
  const wrapped: TextEncoder = {
    ...model,
    tokenizer: {
      ...model.tokenizer,
      encodeBatch: (texts, options) => {
        counter.calls++
        return model.tokenizer.encodeBatch(texts, options)
      }
    }
  }
  return { wrapped, counter }
}

describe("embedding cache", () => {
  const texts = ["I love it", "I hate it", "meh", "I love it"]
  const source = embeddingTableEncoder(
    "source",
    [{ texts: texts.slice(0, 3), vectors: [0, 1, 2].map((i) => Float32Array.from([i, -i, 0.5 + i / 3])) }],
    { pooling: "cls", maxLength: 32 }
  )
  after(() => source.dispose())
  const cacheOf = (dir: string): EmbeddingCache => ({ dir, model: "source", fingerprint: { key: "model-key", description: ["test"] } })

  test("a second call reads the vectors back and neither loads the model nor embeds", async () => {
    const dir = join(workdir, "cache-hit")
    const { wrapped, counter } = counting(source)
    let loads = 0
    const embedder = () => inProcessEmbedder(Effect.sync(() => (loads++, wrapped)))
    const first = await Effect.runPromise(embedThroughCache(cacheOf(dir), texts, OPTIONS, embedder()))
    assert.equal(first.hit, false)
    assert.equal(loads, 1)
    const callsAfterFirst = counter.calls
    assert.ok(callsAfterFirst > 0)
    const second = await Effect.runPromise(embedThroughCache(cacheOf(dir), texts, OPTIONS, embedder()))
    assert.equal(second.hit, true)
    assert.equal(counter.calls, callsAfterFirst, "no embedding on a hit")
    assert.equal(loads, 1, "no model load on a hit")
    assert.deepEqual(second.vectors.map((v) => Array.from(v)), first.vectors.map((v) => Array.from(v)))
    assert.deepEqual(Array.from(second.vectors[3] ?? []), Array.from(second.vectors[0] ?? []), "input order, duplicates included")

    const files = (await readdir(join(dir, "model-key"))).sort()
    assert.deepEqual(files.filter((file) => !file.endsWith(".f32") && !file.endsWith(".json")), [])
    const header = files.find((file) => file.endsWith(".json") && file !== "model.json") ?? ""
    const parsed = JSON.parse(await readFile(join(dir, "model-key", header), "utf8")) as Record<string, unknown>
    assert.deepEqual([parsed["dims"], parsed["count"], parsed["pooling"], parsed["maxLength"]], [3, 4, "cls", 32])
    assert.ok(files.includes(header.replace(/\.json$/, ".f32")))
  })

  test("another pooling, max length or text list is another entry; a damaged entry is recomputed", async () => {
    const dir = join(workdir, "cache-keys")
    const { wrapped, counter } = counting(source)
    const run = (list: ReadonlyArray<string>, options: typeof OPTIONS | { readonly pooling: "cls"; readonly batchSize: number; readonly maxLength: number }) =>
      Effect.runPromise(embedThroughCache(cacheOf(dir), list, options, inProcessEmbedder(Effect.succeed(wrapped))))
    assert.equal((await run(texts, OPTIONS)).hit, false)
    assert.equal((await run(texts, { ...OPTIONS, maxLength: 16 })).hit, false)
    assert.equal((await run(texts.slice(0, 3), OPTIONS)).hit, false)
    assert.equal((await run(texts, { ...OPTIONS, batchSize: 2 })).hit, true, "the batch size does not change the vectors")
    for (const file of await readdir(join(dir, "model-key"))) if (file.endsWith(".f32")) await truncate(join(dir, "model-key", file), 8)
    const calls = counter.calls
    const again = await run(texts, OPTIONS)
    assert.equal(again.hit, false)
    assert.ok(counter.calls > calls)
    assert.equal((await run(texts, OPTIONS)).hit, true, "rewritten whole")
  })

  test("model keys: use-lite by its package version; a folder by its files' contents", async () => {
    const a = await Effect.runPromise(modelFingerprint("use-lite"))
    assert.equal((await Effect.runPromise(modelFingerprint("use-lite"))).key, a.key)
    assert.match(a.description.join("\n"), /@energetic-ai\/model-embeddings-en@0\.2\.0/)
    const folder = join(workdir, "model-a")
    await mkdir(folder)
    await writeFile(join(folder, "config.json"), "{}")
    await writeFile(join(folder, "model.safetensors"), "weights")
    const key = (await Effect.runPromise(modelFingerprint(folder))).key
    await cp(folder, join(workdir, "model-copy"), { recursive: true })
    assert.equal((await Effect.runPromise(modelFingerprint(join(workdir, "model-copy")))).key, key, "a copy keeps its entries")
    await writeFile(join(folder, "model.safetensors"), "weighs")
    assert.notEqual((await Effect.runPromise(modelFingerprint(folder))).key, key, "new weights, new key")
    assert.notEqual(key, a.key)
  })

  test("the default folder: $CARL_CACHE_DIR, else $XDG_CACHE_HOME/carl/embeddings", () => {
    assert.equal(defaultEmbeddingCacheDir({ CARL_CACHE_DIR: "/c", XDG_CACHE_HOME: "/x" }), "/c")
    assert.equal(defaultEmbeddingCacheDir({ XDG_CACHE_HOME: "/x" }), "/x/carl/embeddings")
    assert.match(defaultEmbeddingCacheDir({}), /\.cache\/carl\/embeddings$/)
  })
})

describe("evalCommand on a small random BERT", () => {
  let modelDir = ""
  let dataDir = ""

  before(async () => {
    modelDir = join(workdir, "bert")
    dataDir = join(workdir, "data")
    const encoder = BertEncoder.random({ ...TINY_BERT_CONFIG, vocabSize: 30522 }, new SeededRandom(5), { trainable: false })
    await Effect.runPromise(saveBertDirectory(encoder, modelDir, { copyFrom: TOKENIZER_DIR }))
    encoder.parameters.dispose()
    await writeTinyEvalData(dataDir)
  })

  const quiet = () => {
    const lines: { out: Array<string>; err: Array<string> } = { out: [], err: [] }
    const console: Console.Console = Object.assign(Object.create(globalThis.console) as Console.Console, {
      log: (...args: ReadonlyArray<unknown>) => void lines.out.push(args.join(" ")),
      error: (...args: ReadonlyArray<unknown>) => void lines.err.push(args.join(" "))
    })
    return { console, lines }
  }

  const run = async (options: EvalCommandOptions) => {
    const { console, lines } = quiet()
    const results = await Effect.runPromise(
      evalCommand(options).pipe(Effect.provideService(Console.Console, console), Effect.provide(Backend.layer("cpu")))
    )
    return { results, lines }
  }

  test("every task, a results file the report decodes, and a warm rerun that embeds nothing", async () => {
    const options: EvalCommandOptions = {
      models: [modelDir],
      tasks: EVAL_TASKS,
      dataDir,
      out: join(workdir, "out", "results.json"),
      seed: 42,
      // Above every split's size: the counts below are the whole tiny corpora (capping has its own test).
      maxExamples: 40,
      pooling: "cls",
      batchSize: 16,
      maxLength: 32,
      cacheDir: join(workdir, "eval-cache"),
      workers: 2
    }
    const cold = await run(options)
    const text = await readFile(options.out, "utf8")
    const decoded = await Effect.runPromise(parseResults(text, options.out))
    assert.equal(decoded.models.length, 1)
    const [model] = cold.results.models
    assert.ok(model !== undefined)
    assert.equal(model.name, modelDir)
    assert.equal(model.cacheHits, 0)
    assert.deepEqual(Object.keys(model.tasks).sort(), [...EVAL_TASKS].sort())
    const { tasks } = model
    assert.equal(tasks.mr?.folds, 10)
    assert.equal(tasks.imdb?.maxExamples, 40)
    assert.equal(decoded.maxExamples, 40)
    assert.deepEqual(tasks.ekman?.classes, ["anger", "disgust", "fear", "joy", "sadness", "surprise"])
    const perClass = TINY_EVAL_COUNTS.ekmanPerClass
    assert.deepEqual(tasks.ekman?.counts, { train: 6 * perClass.train, dev: 6 * perClass.dev, test: 6 * perClass.test })
    assert.equal(tasks.align?.pca.points.length, 6 * perClass.test)
    assert.equal(Object.keys(tasks.align?.pca.centroidDistances ?? {}).length, 15)
    assert.equal(tasks.align?.positivePairs, 6 * ((perClass.test * (perClass.test - 1)) / 2))
    assert.equal(tasks.align?.uniformityPairs, (6 * perClass.test * (6 * perClass.test - 1)) / 2)
    for (const value of [tasks.va?.valence.mae, tasks.cr?.accuracy, tasks.sst5?.accuracy, tasks.ekman?.f1, tasks.align?.alignment]) {
      assert.ok(value !== undefined && Number.isFinite(value))
    }
    assert.deepEqual(Object.keys(decoded.data).sort(), ["cr", "emobank", "goemotions", "imdb", "mr", "sst5"])
    assert.deepEqual(decoded.data["imdb"]?.counts, { train: 20, test: 20, trainAvailable: 20, testAvailable: 20 })
    for (const record of Object.values(decoded.data)) assert.match(record.sha256, /^[0-9a-f]{64}$/)
    assert.equal(decoded.backend.name, "cpu")
    assert.match(cold.lines.out.join("\n"), /Table I:[\s\S]*Table II:[\s\S]*Table III:[\s\S]*Table IV:/)
    assert.match(cold.lines.err.join("\n"), /embedding in 2 worker threads \(cpu backend\)/)
    assert.match(cold.lines.err.join("\n"), /running 7 tasks on 2 threads/)
    for (const task of EVAL_TASKS) assert.match(cold.lines.err.join("\n"), new RegExp(`  ${task}: \\d+\\.\\d s`))

    // 3 EmoBank splits, MR, CR, 3 SST-5, 2 IMDB, 3 GoEmotions (align shares Ekman's test split)
    const lists = 13
    const warm = await run({ ...options, workers: 1 })
    const [again] = warm.results.models
    assert.equal(again?.cacheHits, lists)
    assert.doesNotMatch(warm.lines.err.join("\n"), /loaded|embedded in|worker threads/, "nothing loaded, nothing embedded")
    const withoutSeconds = (value: unknown): unknown => JSON.parse(JSON.stringify(value, (key, v: unknown) => (key === "seconds" ? 0 : v)))
    assert.deepEqual(withoutSeconds(again?.tasks), withoutSeconds(model.tasks), "the same numbers from the cached vectors")
  })

  test("the worker pool embeds what this thread does", async () => {
    const texts = ["I love this movie!", "terrible", "", "a much longer sentence about nothing in particular"]
    const model = await Effect.runPromise(loadTextEncoder(modelDir, { trainable: false }))
    const here = await Effect.runPromise(inProcessEmbedder(Effect.succeed(model)).embed(texts, OPTIONS, () => Effect.void))
    const pool = workerPoolEmbedder({ model: modelDir, workers: 2, backend: "cpu", offline: true, slice: 1 })
    const there = await Effect.runPromise(Effect.ensuring(pool.embed(texts, OPTIONS, () => Effect.void), pool.close))
    model.encoder.parameters.dispose()
    here.vectors.forEach((vector, i) => vector.forEach((x, j) => assert.ok(Math.abs(x - (there.vectors[i]?.[j] ?? NaN)) < 1e-5)))
  })

  test("--max-examples caps every split of every dataset with the same seeded sample each time", async () => {
    const datasets = ["emobank", "mr", "cr", "sst5", "goemotions", "imdb"] as const
    const read = (seed: number, maxExamples?: number) => Effect.runPromise(readEvalCorpora(dataDir, datasets, { seed, maxExamples }))
    const full = await read(1)
    const capped = await read(1, 5)
    for (const [dataset, counts] of Object.entries(capped.counts)) {
      for (const split of ["train", "dev", "test", "total"]) {
        const count = counts[split]
        if (count !== undefined) assert.ok(count <= 5, `${dataset} ${split}: ${count}`)
      }
    }
    assert.deepEqual(capped.counts.emobank, { train: 5, dev: 5, test: 5 })
    assert.equal(capped.corpora.mr?.examples.length, 5)
    // A sample of the corpus, in its order, and the same one for the same seed.
    const fullTexts = (full.corpora.sst5?.splits.train ?? []).map((example) => example.text)
    const sampled = (capped.corpora.sst5?.splits.train ?? []).map((example) => example.text)
    const positions = sampled.map((text) => fullTexts.indexOf(text))
    assert.ok(positions.every((p, i) => p >= 0 && (i === 0 || p > (positions[i - 1] ?? -1))), "kept in corpus order")
    assert.deepEqual((await read(1, 5)).corpora.goemotions?.splits.test, capped.corpora.goemotions?.splits.test)
    assert.notDeepEqual((await read(2, 5)).corpora.sst5?.splits.train, capped.corpora.sst5?.splits.train)
    // Without a cap nothing is dropped.
    assert.equal(full.corpora.sst5?.splits.train.length, TINY_EVAL_COUNTS.sst5.train)
  })

  test("missing datasets are named with the command that fetches them, before anything is embedded", async () => {
    const partial = join(workdir, "partial")
    await cp(join(dataDir, "emobank"), join(partial, "emobank"), { recursive: true })
    const exit = await Effect.runPromiseExit(
      evalCommand({
        models: [modelDir],
        tasks: ["va", "sst5", "imdb"],
        dataDir: partial,
        out: join(workdir, "never.json"),
        seed: 1,
        pooling: "cls",
        batchSize: 8,
        maxLength: 32,
        cacheDir: join(workdir, "never-cache")
      }).pipe(Effect.provide(Backend.layer("cpu")), Effect.flip)
    )
    assert.ok(exit._tag === "Success")
    assert.match(exit.value.message, /missing data: sst5 \(no .*stsa\.fine\.dev\), imdb \(no .*aclImdb_train_test_text\.tar\.gz\)/)
    assert.match(exit.value.message, new RegExp(`carl data fetch sst5 imdb --data-dir ${partial}$`))
  })
})
