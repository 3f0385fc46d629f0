/**
 * The carl command line. Each command is an Effect program; a failure prints one line naming
 * what went wrong and exits non-zero. bin/carl.ts runs it, for the heavy commands in a child
 * process it watches.
 */
import { readFileSync } from "node:fs"
import { availableParallelism, cpus, totalmem } from "node:os"
import * as tf from "@tensorflow/tfjs"
import { Cause, Console, Effect, Exit, Layer } from "effect"
import yargs from "yargs"
import { hideBin } from "yargs/helpers"
import { Backend, BACKEND_CHOICES, type BackendChoice } from "../core/backend.ts"
import { CONFIG_PRESET_NAMES, CONFIG_PRESETS, type ConfigPreset } from "../core/config.ts"
import { loadConfig } from "../core/config-file.ts"
import { oneLine } from "../core/errors.ts"
import { Rng } from "../core/rng.ts"
import { POOLINGS, type Pooling } from "../plugins/encoder/index.ts"
import { dataCacheDir, dataFetchCommand, dataPathCommand, DATASET_NAMES } from "../plugins/data-fetch/index.ts"
import { hubSettings } from "../plugins/hub/index.ts"
import { embedCommand } from "../pipelines/embed-command.ts"
import { smokeRun } from "../pipelines/smoke.ts"
import { EVAL_TASKS, evalCommand, type EvalTask } from "../pipelines/eval/eval-command.ts"
import { writeReport } from "../pipelines/report/index.ts"
import { benchCommand, DEFAULT_BENCH_OPTIONS } from "../pipelines/bench/index.ts"
import { CARL_VARIANTS, type CarlVariant } from "../pipelines/carl-graph.ts"
import { DEMO_CORPUS, trainCommand } from "../pipelines/train/train-command.ts"
import { progressMode } from "../pipelines/train/progress.ts"
import type { DataSpec } from "../pipelines/train/load-training-data.ts"

// Started by bin/carl.ts as its watched child: if that process is killed outright, stop with it.
if (process.env["CARL_SUPERVISED"] === "1" && process.send !== undefined) {
  process.channel?.unref()
  process.on("disconnect", () => process.kill(process.pid, "SIGKILL"))
}

const packageJson = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
  readonly version: string
  readonly dependencies: Readonly<Record<string, string>>
}

/** One line however the message was written: its lines joined, control characters escaped. */
const asOneLine = (message: string): string => oneLine(message.trim().replace(/\s*\n\s*/g, " "))

const messageOf = (error: unknown): string => asOneLine(error instanceof Error ? error.message : String(error))

/** Runs a command's program; failures and defects end in one line on stderr and exit code 1. */
const runCommand = async <A, E>(program: Effect.Effect<A, E>): Promise<void> => {
  const exit = await Effect.runPromiseExit(program)
  if (Exit.isFailure(exit)) {
    if (Cause.hasInterruptsOnly(exit.cause)) {
      process.stderr.write("carl: interrupted\n")
      process.exitCode = 130
      return
    }
    const error = Cause.squash(exit.cause)
    process.stderr.write(`carl: ${messageOf(error)}\n`)
    // A run stopped by a signal exits as shells expect of that signal: 128 + its number.
    const signal = (error as { readonly _tag?: string; readonly signal?: string })._tag === "Interrupted" ? (error as { signal: string }).signal : undefined
    process.exitCode = signal === "SIGINT" ? 130 : signal === "SIGTERM" ? 143 : 1
  }
}

/** The demo's own settings: a 240-sentence corpus needs more epochs and a larger rate than EmoBank. */
const DEMO_TRAINING = { batchSize: 16, epochs: 3 }
const DEMO_OPTIMIZER = { learningRate: 2e-4 }

const runtime = (backend: BackendChoice, seed: number) => Layer.mergeAll(Backend.layer(backend), Rng.layer(seed))

const info = Effect.gen(function* () {
  const backend = yield* Backend
  const lines = [
    `carl ${packageJson.version}`,
    `node ${process.version} (${process.platform}-${process.arch}); ${availableParallelism()} cores (${cpus()[0]?.model ?? "unknown cpu"}); ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `tfjs ${tf.version.tfjs}; effect ${packageJson.dependencies["effect"] ?? "?"}`,
    `backend: ${backend.reason}`,
    `threads: ${backend.threads}`,
    ...backend.attempts.map((attempt) => `  ${attempt.ok ? "ok  " : "no  "} ${attempt.backend} via ${attempt.via}: ${attempt.detail}`),
    `caches: data ${dataCacheDir()}; models ${hubSettings().cacheDir}`
  ]
  yield* Console.log(lines.join("\n"))
})

/** yargs reads a lone "-" as a positional argument; `--input -` means standard input. */
const withDashValues = (args: ReadonlyArray<string>): Array<string> => {
  const out: Array<string> = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? ""
    if (arg.startsWith("--") && !arg.includes("=") && args[i + 1] === "-") {
      out.push(`${arg}=-`)
      i++
    } else out.push(arg)
  }
  return out
}

await yargs(withDashValues(hideBin(process.argv)))
  .scriptName("carl")
  .usage("$0 <command> [options]\n\nEmotion-aware sentence embeddings with CARL.")
  .option("backend", {
    choices: BACKEND_CHOICES,
    default: "auto" as BackendChoice,
    describe: "tfjs backend: auto picks tensorflow (tfjs-node-gpu, then tfjs-node), then native (wasm + OpenBLAS kernels, if built), then wasm, then cpu; native-cpu: OpenBLAS kernels on the cpu backend, for models beyond the 4 GiB wasm heap"
  })
  .option("config", { type: "string", describe: "JSON configuration file; flags override its values" })
  .option("seed", { type: "number", describe: "random seed (default 42)" })
  .command(
    "smoke",
    "run CARL steps on a tiny random BERT and a synthetic batch (checks install, backend and graph)",
    (command) =>
      command
        .option("steps", { type: "number", default: 1, describe: "optimiser steps" })
        .option("batch-size", { type: "number", default: 8, describe: "sentences per batch" })
        .option("seq-length", { type: "number", default: 16, describe: "tokens per sentence, padding included" })
        .example("$0 smoke", "one CARL step on the best backend available")
        .example("$0 smoke --backend cpu --steps 3", "three steps on the plain JavaScript backend")
        .check((argv) => {
          for (const key of ["steps", "batch-size", "seq-length"] as const) {
            const value = argv[key]
            if (!Number.isInteger(value) || value < 1) throw new Error(`--${key} must be a whole number ≥ 1, got ${value}`)
          }
          if (argv["seq-length"] < 2) throw new Error("--seq-length must be at least 2")
          return true
        }),
    async (argv) => {
      const program = Effect.gen(function* () {
        const config = yield* loadConfig(argv.config, argv.seed === undefined ? {} : { seed: argv.seed })
        return yield* Effect.scoped(
          smokeRun(config, { steps: argv.steps, batchSize: argv["batch-size"], seqLength: argv["seq-length"] }).pipe(
            Effect.provide(runtime(argv.backend, config.seed))
          )
        )
      })
      await runCommand(program)
    }
  )
  .command(
    "train",
    "train an encoder with CARL (no arguments: USE-lite on the bundled demo corpus, ~2 minutes)",
    (command) =>
      command
        .option("model", { type: "string", default: "use-lite", describe: "use-lite, a Hugging Face folder, or a hub id" })
        .option("data", {
          type: "string",
          array: true,
          describe: "VA corpora (EmoBank and Facebook-posts CSVs are recognised; others need the column flags); default: the demo corpus"
        })
        .option("format", { choices: ["emobank", "facebook-va", "csv", "tsv", "jsonl"] as const, describe: "format of every --data file" })
        .option("text-column", { type: "string", describe: "column (or JSONL key) with the text" })
        .option("valence-column", { type: "string", describe: "column with valence" })
        .option("arousal-column", { type: "string", describe: "column with arousal" })
        .option("split-column", { type: "string", describe: "column with train/dev/test, if any" })
        .option("scale", { type: "string", describe: "nominal label scale min,max for Eq. 12 (EmoBank 1,5; Facebook posts 1,9)" })
        .option("skip-bad-rows", { type: "boolean", default: false, describe: "skip malformed rows, counting them per reason, instead of failing" })
        .option("out", { type: "string", describe: "run folder: metrics.jsonl, checkpoints/, best/, final/ (default runs/demo or runs/<time>)" })
        .option("steps", { type: "number", describe: "optimiser steps (default: training.epochs epochs)" })
        .option("epochs", { type: "number", describe: "epochs (config training.epochs, 2)" })
        .option("batch-size", { type: "number", describe: "config training.batchSize (128)" })
        .option("lr", { type: "number", describe: "peak learning rate, config optimizer.learningRate (2e-5)" })
        .option("max-length", { type: "number", describe: "tokens per sentence, config model.maxLength (128)" })
        .option("preset", { choices: CONFIG_PRESET_NAMES, default: "recipe" as ConfigPreset, describe: "recipe: the settings that measured best on EmoBank dev (docs/RESULTS.md); paper: the paper's exactly. --config and flags override it" })
        .option("micro-batch", { type: "string", describe: "rows per micro-batch of a step, or auto (config training.microBatch, auto: 8 rows while memory allows)" })
        .option("memory", { choices: ["auto", "keep", "recompute"] as const, describe: "keep micro-batches on one tape, or recompute them one at a time (GradCache); config training.memory (auto)" })
        .option("ptd", { type: "boolean", default: true, describe: "--no-ptd: the paper's 'w/o TP' ablation (MCCL alone)" })
        .option("mccl", { type: "boolean", default: true, describe: "--no-mccl: the paper's 'w/o MCCL' ablation (PTD alone)" })
        .option("plain", { type: "boolean", default: false, describe: "plain supervised baseline: VA regression head, no CARL" })
        .option("checkpoint-every", { type: "number", default: 0, describe: "write a checkpoint every N steps (0: only at the end and on SIGINT/SIGTERM)" })
        .option("eval-every", { type: "number", default: 0, describe: "evaluate on dev every N steps and keep the best model in <out>/best" })
        .option("resume", { type: "boolean", default: false, describe: "continue the run in --out from its newest checkpoint" })
        .option("progress", { type: "boolean", describe: "progress bar on a terminal, plain lines otherwise; --no-progress for none" })
        .option("clip-grad-norm", { type: "number", describe: "clip the global gradient norm to this value" })
        .option("offline", { type: "boolean", default: process.env["HF_HUB_OFFLINE"] === "1", describe: "use only the local model cache" })
        .example("$0 train", "the demo: USE-lite on the bundled corpus, correlations before and after")
        .example("$0 train --data ../shared/data/emobank/emobank.csv --steps 50 --batch-size 16 --out runs/emobank", "EmoBank, 50 steps")
        .example("$0 train --data posts.jsonl --text-column text --valence-column v --arousal-column a --scale 1,9", "any JSONL/CSV/TSV")
        .example("$0 train --out runs/emobank --resume ...", "continue an interrupted run with the same options")
        .check((argv) => {
          for (const key of ["steps", "epochs", "batch-size", "max-length", "checkpoint-every", "eval-every"] as const) {
            const value = argv[key]
            const minimum = key === "checkpoint-every" || key === "eval-every" ? 0 : 1
            if (value !== undefined && (!Number.isInteger(value) || value < minimum)) throw new Error(`--${key} must be a whole number ≥ ${minimum}, got ${value}`)
          }
          for (const key of ["lr", "clip-grad-norm"] as const) {
            const value = argv[key]
            if (value !== undefined && !(Number.isFinite(value) && value > 0)) throw new Error(`--${key} must be a number > 0, got ${value}`)
          }
          if (argv.scale !== undefined && !/^\s*-?[\d.]+\s*,\s*-?[\d.]+\s*$/.test(argv.scale)) throw new Error(`--scale must be min,max (e.g. 1,5), got ${argv.scale}`)
          const micro = argv["micro-batch"]
          if (micro !== undefined && micro !== "auto" && !(Number.isInteger(Number(micro)) && Number(micro) >= 1)) {
            throw new Error(`--micro-batch must be a whole number ≥ 1 or auto, got ${micro}`)
          }
          if (argv.plain && (!argv.ptd || !argv.mccl)) throw new Error("--plain cannot be combined with --no-ptd or --no-mccl")
          if (!argv.ptd && !argv.mccl) throw new Error("--no-ptd with --no-mccl leaves nothing to train; use --plain for the supervised baseline")
          return true
        }),
    async (argv) => {
      const demo = argv.data === undefined
      const variant: CarlVariant = argv.plain ? "plain" : !argv.ptd ? "no-ptd" : !argv.mccl ? "no-mccl" : "carl"
      const [low, high] = (argv.scale ?? "").split(",").map(Number)
      const columns = {
        ...(argv.format === undefined ? {} : { format: argv.format }),
        ...(argv["text-column"] === undefined ? {} : { textColumn: argv["text-column"] }),
        ...(argv["valence-column"] === undefined ? {} : { valenceColumn: argv["valence-column"] }),
        ...(argv["arousal-column"] === undefined ? {} : { arousalColumn: argv["arousal-column"] }),
        ...(argv["split-column"] === undefined ? {} : { splitColumn: argv["split-column"] }),
        ...(argv.scale === undefined ? {} : { scale: { min: low ?? 0, max: high ?? 0 } })
      }
      const data: ReadonlyArray<DataSpec> = demo
        ? [{ file: DEMO_CORPUS, format: "csv", textColumn: "text", valenceColumn: "valence", arousalColumn: "arousal", splitColumn: "split", scale: { min: 1, max: 5 } }]
        : (argv.data ?? []).map((file) => ({ file, ...columns }))
      const overrides = {
        ...(argv.seed === undefined ? {} : { seed: argv.seed }),
        training: {
          ...(demo ? DEMO_TRAINING : {}),
          ...(argv.epochs === undefined ? {} : { epochs: argv.epochs }),
          ...(argv["batch-size"] === undefined ? {} : { batchSize: argv["batch-size"] }),
          ...(argv["micro-batch"] === undefined ? {} : { microBatch: argv["micro-batch"] === "auto" ? ("auto" as const) : Number(argv["micro-batch"]) }),
          ...(argv.memory === undefined ? {} : { memory: argv.memory })
        },
        optimizer: { ...(demo ? DEMO_OPTIMIZER : {}), ...(argv.lr === undefined ? {} : { learningRate: argv.lr }) },
        model: argv["max-length"] === undefined ? {} : { maxLength: argv["max-length"] }
      }
      const program = Effect.gen(function* () {
        const config = yield* loadConfig(argv.config, overrides, CONFIG_PRESETS[argv.preset])
        return yield* Effect.scoped(
          trainCommand(config, {
            model: argv.model,
            data,
            out: argv.out ?? (demo ? "runs/demo" : `runs/${new Date().toISOString().replace(/[:.]/g, "-")}`),
            variant,
            steps: argv.steps,
            checkpointEvery: argv["checkpoint-every"],
            evalEvery: argv["eval-every"],
            resume: argv.resume,
            progress: progressMode(argv.progress),
            clipGradientNorm: argv["clip-grad-norm"],
            offline: argv.offline,
            skipBadRows: argv["skip-bad-rows"]
          }).pipe(Effect.provide(runtime(argv.backend, config.seed)))
        )
      })
      await runCommand(program)
    }
  )
  .command(
    "eval",
    "evaluate encoders on the paper's tasks: VA regression, polarity probes, Ekman emotions, alignment/uniformity",
    (command) =>
      command
        .option("model", { type: "string", array: true, default: ["use-lite"], describe: "use-lite, a model folder (e.g. runs/x/final) or a hub id; repeat to compare" })
        .option("tasks", { type: "string", default: "all", describe: `comma-separated: ${EVAL_TASKS.join(",")} or all` })
        .option("data-dir", { type: "string", demandOption: true, describe: "datasets laid out as carl data fetch leaves them (or ../shared/data)" })
        .option("out", { type: "string", default: "results.json", describe: "results JSON (written atomically)" })
        .option("report", { type: "string", describe: "also write a self-contained HTML report here" })
        .option("max-examples", { type: "number", describe: "cap every split of every dataset (MR and CR as a whole) at a seeded sample of this many; recorded in the results (default: all)" })
        .option("pooling", { choices: POOLINGS, describe: "default: config model.pooling (cls)" })
        .option("batch-size", { type: "number", default: 64, describe: "sentences per forward pass" })
        .option("max-length", { type: "number", describe: "tokens per sentence (default: config model.maxLength, 128)" })
        .option("cache-dir", { type: "string", describe: "embedding cache (default $CARL_CACHE_DIR or ~/.cache/carl/embeddings)" })
        .option("workers", { type: "number", describe: "threads that embed (on a cache miss) and run the tasks (default: one per core, at most 4)" })
        .option("offline", { type: "boolean", default: process.env["HF_HUB_OFFLINE"] === "1", describe: "use only the local model cache" })
        .example("$0 eval --model use-lite --tasks all --data-dir ../shared/data --max-examples 2000 --report r.html", "the base encoder on every task")
        .example("$0 eval --model use-lite --model runs/emobank/final --tasks va,ekman,align --data-dir ../shared/data", "before and after training")
        .check((argv) => {
          const tasks = argv.tasks === "all" ? [...EVAL_TASKS] : argv.tasks.split(",").map((task) => task.trim())
          const unknown = tasks.filter((task) => !(EVAL_TASKS as ReadonlyArray<string>).includes(task))
          if (unknown.length > 0) throw new Error(`--tasks: unknown ${unknown.join(", ")}; known: ${EVAL_TASKS.join(", ")}, all`)
          for (const key of ["max-examples", "batch-size", "max-length", "workers"] as const) {
            const value = argv[key]
            if (value !== undefined && (!Number.isInteger(value) || value < 1)) throw new Error(`--${key} must be a whole number ≥ 1, got ${value}`)
          }
          return true
        }),
    async (argv) => {
      const tasks = (argv.tasks === "all" ? [...EVAL_TASKS] : argv.tasks.split(",").map((task) => task.trim())) as Array<EvalTask>
      const program = Effect.gen(function* () {
        const config = yield* loadConfig(argv.config, argv.seed === undefined ? {} : { seed: argv.seed })
        yield* Effect.scoped(
          evalCommand({
            models: argv.model,
            tasks,
            dataDir: argv["data-dir"],
            out: argv.out,
            seed: config.seed,
            maxExamples: argv["max-examples"],
            pooling: (argv.pooling ?? config.model.pooling) as Pooling,
            batchSize: argv["batch-size"],
            maxLength: argv["max-length"] ?? config.model.maxLength,
            cacheDir: argv["cache-dir"],
            offline: argv.offline,
            workers: argv.workers
          }).pipe(Effect.provide(runtime(argv.backend, config.seed)))
        )
        if (argv.report !== undefined) {
          yield* writeReport(argv.out, argv.report)
          yield* Console.log(`report: ${argv.report}`)
        }
      })
      await runCommand(program)
    }
  )
  .command(
    "bench",
    "time full CARL steps on a random BERT (or embedding throughput with --embed); one JSON line each",
    (command) =>
      command
        .option("layers", { type: "number", default: DEFAULT_BENCH_OPTIONS.layers })
        .option("hidden", { type: "number", default: DEFAULT_BENCH_OPTIONS.hidden })
        .option("heads", { type: "number", default: DEFAULT_BENCH_OPTIONS.heads })
        .option("ffn", { type: "number", default: DEFAULT_BENCH_OPTIONS.ffn })
        .option("vocab", { type: "number", default: DEFAULT_BENCH_OPTIONS.vocab })
        .option("seq", { type: "number", default: DEFAULT_BENCH_OPTIONS.seq, describe: "tokens per row, padding included (rows are ragged as the peer's)" })
        .option("batch", { type: "number", default: DEFAULT_BENCH_OPTIONS.batch })
        .option("steps", { type: "number", default: DEFAULT_BENCH_OPTIONS.steps, describe: "timed steps (median reported)" })
        .option("warmup", { type: "number", default: DEFAULT_BENCH_OPTIONS.warmup })
        .option("threads", { type: "number", describe: "recorded; tfjs-wasm runs one thread in Node whatever it says" })
        .option("embed", { type: "boolean", default: false, describe: "sentences/s of --model (and of the shipped graph model for use-lite)" })
        .option("model", { type: "string", describe: "use-lite, a model folder or a hub id (default: a random BERT of the shape flags for steps, use-lite for --embed)" })
        .option("data", { type: "string", describe: "steps on the first --batch training sentences of this VA file (as carl train --data), cut to --seq tokens" })
        .option("micro-batch", { type: "string", describe: "rows per micro-batch of a step (a number, or auto: what fits the backend's memory); default: the whole batch" })
        .option("peer", { type: "boolean", default: false, describe: "also run ../shared/bench/torch_carl.py bench with the same config, and print the ratio" })
        .option("profile", { type: "boolean", default: false, describe: "also list the kernels of one profiled step" })
        .example("$0 bench --peer", "the issue's configuration, carl then the PyTorch peer, and the ratio")
        .example("$0 bench --embed --model use-lite", "embedding throughput, ours and the graph model's")
        .check((argv) => {
          for (const key of ["layers", "hidden", "heads", "ffn", "vocab", "seq", "batch", "steps"] as const) {
            const value = argv[key]
            if (!Number.isInteger(value) || value < 1) throw new Error(`--${key} must be a whole number ≥ 1, got ${value}`)
          }
          if (argv.hidden % argv.heads !== 0) throw new Error(`--hidden ${argv.hidden} must be a multiple of --heads ${argv.heads}`)
          const micro = argv["micro-batch"]
          if (micro !== undefined && micro !== "auto" && !(Number.isInteger(Number(micro)) && Number(micro) >= 1)) {
            throw new Error(`--micro-batch must be a whole number ≥ 1 or auto, got ${micro}`)
          }
          return true
        }),
    async (argv) => {
      const options = {
        ...DEFAULT_BENCH_OPTIONS,
        layers: argv.layers,
        hidden: argv.hidden,
        heads: argv.heads,
        ffn: argv.ffn,
        vocab: argv.vocab,
        seq: argv.seq,
        batch: argv.batch,
        steps: argv.steps,
        warmup: argv.warmup,
        embed: argv.embed,
        model: argv.model,
        data: argv.data,
        microBatch: argv["micro-batch"] === undefined ? undefined : argv["micro-batch"] === "auto" ? ("auto" as const) : Number(argv["micro-batch"]),
        peer: argv.peer,
        profile: argv.profile,
        seed: argv.seed ?? DEFAULT_BENCH_OPTIONS.seed,
        ...(argv.threads === undefined ? {} : { threads: argv.threads })
      }
      await runCommand(benchCommand(options).pipe(Effect.provide(Backend.layer(argv.backend))))
    }
  )
  .command(
    "embed",
    "embed text, one line per sentence, as one JSON array per line",
    (command) =>
      command
        .option("model", {
          type: "string",
          default: "use-lite",
          describe: "use-lite, a folder in Hugging Face layout, or a hub id (bert-base-uncased, org/name)"
        })
        .option("input", { type: "string", demandOption: true, describe: "text file, one sentence per line, or - for stdin" })
        .option("output", { type: "string", default: "-", describe: "JSONL file (written atomically), or - for stdout" })
        .option("pooling", { choices: POOLINGS, describe: "cls: pooler dense, no tanh (CARL); pooler: with tanh; mean (default: config model.pooling, cls)" })
        .option("batch-size", { type: "number", default: 32, describe: "sentences per forward pass" })
        .option("max-length", { type: "number", describe: "tokens per sentence, special tokens included (default: config model.maxLength, 128)" })
        .option("offline", { type: "boolean", default: process.env["HF_HUB_OFFLINE"] === "1", describe: "use only the local model cache" })
        .example("$0 embed --input sentences.txt --output vectors.jsonl", "USE-lite embeddings of each line")
        .example("echo 'I love this movie!' | $0 embed --model ./my-bert --input -", "a local BERT folder")
        .check((argv) => {
          const batchSize = argv["batch-size"]
          if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`--batch-size must be a whole number ≥ 1, got ${batchSize}`)
          const maxLength = argv["max-length"]
          if (maxLength !== undefined && (!Number.isInteger(maxLength) || maxLength < 2)) {
            throw new Error(`--max-length must be a whole number ≥ 2, got ${maxLength}`)
          }
          return true
        }),
    async (argv) => {
      const program = Effect.gen(function* () {
        const config = yield* loadConfig(argv.config, argv.seed === undefined ? {} : { seed: argv.seed })
        return yield* Effect.scoped(
          embedCommand({
            model: argv.model,
            input: argv.input,
            output: argv.output,
            pooling: (argv.pooling ?? config.model.pooling) as Pooling,
            batchSize: argv["batch-size"],
            maxLength: argv["max-length"] ?? config.model.maxLength,
            offline: argv.offline
          }).pipe(Effect.provide(runtime(argv.backend, config.seed)))
        )
      })
      await runCommand(program)
    }
  )
  .command(
    "data",
    "download the public corpora into the data cache, in the layout the data readers read",
    (command) =>
      command
        .command(
          "fetch <names..>",
          `download datasets (${DATASET_NAMES.join(", ")}) into the cache; prints their folders`,
          (fetch) =>
            fetch
              .positional("names", { type: "string", array: true, demandOption: true, describe: "dataset names" })
              .option("data-dir", { type: "string", describe: "the cache (default: $CARL_DATA_DIR, else $XDG_CACHE_HOME/carl/data or ~/.cache/carl/data)" })
              .option("offline", { type: "boolean", default: false, describe: "only check that the cache is complete" })
              .option("force", { type: "boolean", default: false, describe: "download again what is in the cache" })
              .example("$0 data fetch emobank", "EmoBank into ~/.cache/carl/data/emobank/emobank.csv")
              .example("$0 train --data \"$($0 data fetch emobank)/emobank.csv\"", "train on it"),
          async (argv) => {
            const options = {
              ...(argv["data-dir"] === undefined ? {} : { cacheDir: argv["data-dir"] }),
              offline: argv.offline,
              force: argv.force
            }
            await runCommand(dataFetchCommand(argv.names, options))
          }
        )
        .command(
          "path [names..]",
          "print the data cache folder, or the named datasets' folders in it",
          (path) =>
            path
              .positional("names", { type: "string", array: true, default: [] as Array<string>, describe: "dataset names" })
              .option("data-dir", { type: "string", describe: "the cache (default: $CARL_DATA_DIR, else ~/.cache/carl/data)" }),
          async (argv) => {
            await runCommand(dataPathCommand(argv.names, argv["data-dir"] === undefined ? {} : { cacheDir: argv["data-dir"] }))
          }
        )
        .demandCommand(1, "name a data command: fetch or path"),
    () => undefined
  )
  .command(
    "info",
    "print versions, the backend carl would use and why, and threads",
    (command) => command.example("$0 info --backend wasm", "what the wasm backend reports"),
    async (argv) => {
      await runCommand(info.pipe(Effect.provide(Backend.layer(argv.backend))))
    }
  )
  .demandCommand(1, "name a command: train, eval, embed, data, bench, smoke or info")
  .strict()
  .check((argv) => {
    // `--out ""` or `--config` with nothing after it would reach the commands as an empty path.
    for (const [key, value] of Object.entries(argv)) {
      if (key === "_" || key === "$0" || /[A-Z]/.test(key)) continue
      const values: ReadonlyArray<unknown> = Array.isArray(value) ? value : [value]
      if (values.includes("")) throw new Error(`--${key} needs a value`)
      if ((key === "data" || key === "model") && Array.isArray(value) && value.length === 0) throw new Error(`--${key} needs at least one value`)
    }
    return true
  })
  .fail((message, error, instance) => {
    if (error !== undefined && error !== null && !message) throw error
    process.stderr.write(`carl: ${message ? asOneLine(message) : messageOf(error)}\n(see carl --help)\n`)
    void instance
    process.exit(1)
  })
  .help()
  .parseAsync()
