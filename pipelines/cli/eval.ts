/** `carl eval`: the paper's evaluations on any encoders. */
import type { Argv } from "yargs"
import { Console, Effect } from "effect"
import { type Pooling } from "../../plugins/encoders/index.ts"
import { POOLINGS } from "../../plugins/encoders/index.ts"
import { EVAL_TASKS, evalCommand, type EvalTask } from "../../pipelines/eval/eval-command.ts"
import { parseMaxExamples } from "../../pipelines/eval/eval-data.ts"
import { writeReport } from "../../pipelines/report/index.ts"
import { dataCacheDir } from "../../plugins/data/fetch/index.ts"
import { commandConfig, OFFLINE_OPTION, runCommand, runtime, wholeNumber, type GlobalOptions } from "./command.ts"
import { checkScaleFlag, dataSpecs, vaDataFlags } from "./va-data-flags.ts"

export const evalCli = (cli: Argv<GlobalOptions>) =>
  cli
    .command(
      "eval",
      "evaluate encoders on the paper's tasks: VA regression, polarity probes, Ekman emotions, alignment/uniformity",
      (command) =>
        vaDataFlags(command, "--va-data")
          .option("model", { type: "string", array: true, default: ["use-lite"], describe: "use-lite, a model folder (e.g. runs/x/final) or a hub id; repeat to compare" })
          .option("tasks", { type: "string", default: "all", describe: `comma-separated: ${EVAL_TASKS.join(",")} or all` })
          .option("data-dir", { type: "string", describe: "datasets laid out as carl data fetch leaves them (default: the data cache, $CARL_DATA_DIR or ~/.cache/carl/data)" })
          .option("va-data", {
            type: "string",
            array: true,
            describe: "your own valence–arousal corpora (as carl train --data; the column flags and --scale name their layout): the va task adds in-domain (10-fold) and cross-corpus (fitted on EmoBank) r for each"
          })
          .option("out", { type: "string", default: "results.json", describe: "results JSON (written atomically)" })
          .option("report", { type: "string", describe: "also write a self-contained HTML report here" })
          .option("max-examples", {
            type: "string",
            describe: "cap every split (MR and CR as a whole) at a seeded sample of this many: N for every dataset, or per dataset: imdb=2000,goemotions=5000; recorded in the results (default: all)"
          })
          .option("pooling", { choices: POOLINGS, describe: "default: config model.pooling (cls)" })
          .option("batch-size", { type: "number", default: 64, describe: "sentences per forward pass" })
          .option("max-length", { type: "number", describe: "tokens per sentence (default: config model.maxLength, 128)" })
          .option("cache-dir", { type: "string", describe: "embedding cache (default $CARL_CACHE_DIR or ~/.cache/carl/embeddings)" })
          .option("workers", { type: "number", describe: "threads that embed (on a cache miss) and run the tasks (default: one per core, at most 4)" })
          .option("offline", OFFLINE_OPTION)
          .example("$0 eval --model use-lite --tasks all --data-dir ../shared/data --max-examples 2000 --report r.html", "the base encoder on every task")
          .example("$0 eval --model use-lite --model runs/emobank/final --tasks va,ekman,align --data-dir ../shared/data", "before and after training")
          .example("$0 eval --tasks va --va-data posts.csv", "EmoBank and your corpus (Facebook-posts layout recognised): in-domain and cross-corpus r")
          .example("$0 eval --tasks all --max-examples imdb=2000", "every task, IMDB capped at 2,000 reviews per split")
          .check((argv) => {
            const tasks = argv.tasks === "all" ? [...EVAL_TASKS] : argv.tasks.split(",").map((task) => task.trim())
            const unknown = tasks.filter((task) => !(EVAL_TASKS as ReadonlyArray<string>).includes(task))
            if (unknown.length > 0) throw new Error(`--tasks: unknown ${unknown.join(", ")}; known: ${EVAL_TASKS.join(", ")}, all`)
            if (argv["max-examples"] !== undefined) parseMaxExamples(argv["max-examples"])
            checkScaleFlag(argv.scale)
            for (const key of ["batch-size", "max-length", "workers"] as const) wholeNumber(key, argv[key], 1)
            return true
          }),
      async (argv) => {
        const tasks = (argv.tasks === "all" ? [...EVAL_TASKS] : argv.tasks.split(",").map((task) => task.trim())) as Array<EvalTask>
        const program = Effect.gen(function* () {
          const config = yield* commandConfig(argv)
          yield* Effect.scoped(
            evalCommand({
              models: argv.model,
              tasks,
              dataDir: argv["data-dir"] ?? dataCacheDir(),
              vaData: dataSpecs(argv["va-data"] ?? [], argv),
              skipBadRows: argv["skip-bad-rows"],
              out: argv.out,
              seed: config.seed,
              maxExamples: argv["max-examples"] === undefined ? undefined : parseMaxExamples(argv["max-examples"]),
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
