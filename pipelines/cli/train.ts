/** `carl train`: training runs (the demo without arguments). */
import type { Argv } from "yargs"
import { Effect } from "effect"
import { CONFIG_PRESET_NAMES, CONFIG_PRESETS, DEFAULT_PRESET } from "../../plugins/carl/config.ts"
import { loadConfig } from "../../plugins/carl/config-file.ts"
import { type CarlVariant } from "../../pipelines/carl-graph.ts"
import { SELECTION_TASKS, type SelectionTask } from "../../pipelines/train/evaluation.ts"
import { trainCommand } from "../../pipelines/train/train-command.ts"
import { BUNDLED_EMOBANK } from "../../plugins/data/bundled.ts"
import { progressMode } from "../../pipelines/train/progress.ts"
import type { DataSpec } from "../../pipelines/train/load-training-data.ts"
import { checkMicroBatchFlag, OFFLINE_OPTION, runCommand, runtime, wholeNumber, type GlobalOptions } from "./command.ts"
import { checkScaleFlag, dataSpecs, vaDataFlags } from "./va-data-flags.ts"

/**
 * The demo (`carl train` with no --data, `npm start`): the recipe on the bundled EmoBank, at a
 * budget a person waits for — 40 steps of 64 sentences (a third of an epoch) — then the held-out
 * test correlations before and after.
 */
const DEMO_DATA: DataSpec = { file: BUNDLED_EMOBANK, format: "emobank" }
const DEMO_TRAINING = { batchSize: 64 }
const DEMO_STEPS = 40

export const trainCli = (cli: Argv<GlobalOptions>) =>
  cli
    .command(
      "train",
      "train an encoder with CARL (no arguments: the demo, the recipe on the bundled EmoBank, a few minutes)",
      (command) =>
        vaDataFlags(command, "--data")
          .option("model", { type: "string", default: "use-lite", describe: "use-lite, a Hugging Face folder, or a hub id" })
          .option("data", {
            type: "string",
            array: true,
            describe: "VA corpora (EmoBank and Facebook-posts CSVs are recognised; others need the column flags); default: the demo, on the bundled EmoBank"
          })
          .option("out", { type: "string", describe: "run folder: metrics.jsonl, checkpoints/, best/, final/ (default runs/demo or runs/<time>)" })
          .option("steps", { type: "number", describe: "optimiser steps (default: training.epochs epochs)" })
          .option("epochs", { type: "number", describe: "epochs (config training.epochs, 2)" })
          .option("batch-size", { type: "number", describe: "config training.batchSize (128)" })
          .option("lr", { type: "number", describe: "peak learning rate, config optimizer.learningRate (2e-5)" })
          .option("max-length", { type: "number", describe: "tokens per sentence, config model.maxLength (128)" })
          .option("preset", { choices: CONFIG_PRESET_NAMES, default: DEFAULT_PRESET, describe: "recipe: the settings that measured best on EmoBank dev (docs/RESULTS.md); paper: the paper's exactly. --config and flags override it" })
          .option("micro-batch", { type: "string", describe: "rows per micro-batch of a step, or auto (config training.microBatch, auto: 8 rows while memory allows)" })
          .option("memory", { choices: ["auto", "keep", "recompute"] as const, describe: "keep micro-batches on one tape, or recompute them one at a time (GradCache); config training.memory (auto)" })
          .option("ptd", { type: "boolean", default: true, describe: "--no-ptd: the paper's 'w/o TP' ablation (MCCL alone)" })
          .option("mccl", { type: "boolean", default: true, describe: "--no-mccl: the paper's 'w/o MCCL' ablation (PTD alone)" })
          .option("plain", { type: "boolean", default: false, describe: "plain supervised baseline: VA regression head, no CARL" })
          .option("checkpoint-every", { type: "number", default: 0, describe: "write a checkpoint every N steps (0: only at the end and on SIGINT/SIGTERM)" })
          .option("eval-every", { type: "number", default: 0, describe: "evaluate on dev every N steps and keep the best model in <out>/best" })
          .option("select-on", { type: "string", default: "va", describe: `what chooses the best model, comma-separated: ${SELECTION_TASKS.join(", ")} (va: the data's dev split; sst5, ekman: their dev splits under --data-dir; several: their mean)` })
          .option("data-dir", { type: "string", describe: "datasets as carl data fetch leaves them, for --select-on sst5/ekman" })
          .option("heads", { type: "boolean", default: true, describe: "fit the VA head of final/ and best/ at the end, for carl predict (--no-heads to skip)" })
          .option("resume", { type: "boolean", default: false, describe: "continue the run in --out from its newest checkpoint" })
          .option("progress", { type: "boolean", describe: "progress bar on a terminal, plain lines otherwise; --no-progress for none" })
          .option("clip-grad-norm", { type: "number", describe: "clip the global gradient norm to this value" })
          .option("offline", OFFLINE_OPTION)
          .example("$0 train", "the demo: the recipe on the bundled EmoBank, held-out correlations before and after")
          .example("$0 train --data data/emobank/emobank.csv --out runs/emobank", "EmoBank at the paper's budget (2 epochs of 128)")
          .example("$0 train --data posts.jsonl --text-column text --valence-column v --arousal-column a --scale 1,9", "any JSONL/CSV/TSV")
          .example("$0 train --out runs/emobank --resume ...", "continue an interrupted run with the same options")
          .check((argv) => {
            for (const key of ["steps", "epochs", "batch-size", "max-length"] as const) wholeNumber(key, argv[key], 1)
            for (const key of ["checkpoint-every", "eval-every"] as const) wholeNumber(key, argv[key], 0)
            for (const key of ["lr", "clip-grad-norm"] as const) {
              const value = argv[key]
              if (value !== undefined && !(Number.isFinite(value) && value > 0)) throw new Error(`--${key} must be a number > 0, got ${value}`)
            }
            checkScaleFlag(argv.scale)
            checkMicroBatchFlag(argv["micro-batch"])
            const selectOn = argv["select-on"].split(",").map((task) => task.trim())
            const unknownTask = selectOn.find((task) => !(SELECTION_TASKS as ReadonlyArray<string>).includes(task))
            if (unknownTask !== undefined) throw new Error(`--select-on: ${unknownTask} has no dev split to select on; choose from ${SELECTION_TASKS.join(", ")}`)
            if (argv.plain && (!argv.ptd || !argv.mccl)) throw new Error("--plain cannot be combined with --no-ptd or --no-mccl")
            if (!argv.ptd && !argv.mccl) throw new Error("--no-ptd with --no-mccl leaves nothing to train; use --plain for the supervised baseline")
            return true
          }),
      async (argv) => {
        const demo = argv.data === undefined
        const variant: CarlVariant = argv.plain ? "plain" : !argv.ptd ? "no-ptd" : !argv.mccl ? "no-mccl" : "carl"
        const data: ReadonlyArray<DataSpec> = demo ? [DEMO_DATA] : dataSpecs(argv.data ?? [], argv)
        const overrides = {
          ...(argv.seed === undefined ? {} : { seed: argv.seed }),
          training: {
            ...(demo ? DEMO_TRAINING : {}),
            ...(argv.epochs === undefined ? {} : { epochs: argv.epochs }),
            ...(argv["batch-size"] === undefined ? {} : { batchSize: argv["batch-size"] }),
            ...(argv["micro-batch"] === undefined ? {} : { microBatch: argv["micro-batch"] === "auto" ? ("auto" as const) : Number(argv["micro-batch"]) }),
            ...(argv.memory === undefined ? {} : { memory: argv.memory })
          },
          optimizer: argv.lr === undefined ? {} : { learningRate: argv.lr },
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
              steps: argv.steps ?? (demo ? DEMO_STEPS : undefined),
              checkpointEvery: argv["checkpoint-every"],
              evalEvery: argv["eval-every"],
              selectOn: argv["select-on"].split(",").map((task) => task.trim()) as Array<SelectionTask>,
              dataDir: argv["data-dir"],
              resume: argv.resume,
              progress: progressMode(argv.progress),
              clipGradientNorm: argv["clip-grad-norm"],
              offline: argv.offline,
              skipBadRows: argv["skip-bad-rows"],
              heads: argv.heads
            }).pipe(Effect.provide(runtime(argv.backend, config.seed)))
          )
        })
        await runCommand(program)
      }
    )
