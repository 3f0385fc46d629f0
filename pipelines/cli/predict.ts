/** `carl predict`: valence, arousal and emotion from text. */
import type { Argv } from "yargs"
import { Effect } from "effect"
import { PREDICT_FORMATS, predictCommand } from "../../pipelines/heads/predict-command.ts"
import { commandConfig, OFFLINE_OPTION, runCommand, runtime, wholeNumber, type GlobalOptions } from "./command.ts"


export const predictCli = (cli: Argv<GlobalOptions>) =>
  cli
    .command(
      "predict",
      "valence and arousal of each input line (and with --emotion the nearest Ekman emotion), from the model's VA head",
      (command) =>
        command
          .option("model", { type: "string", default: "use-lite", describe: "use-lite (heads shipped), a run folder (its best model), a model folder or a hub id with a fitted head" })
          .option("input", { type: "string", default: "-", describe: "text file, one input per line, or - for stdin" })
          .option("output", { type: "string", default: "-", describe: "file (written atomically), or - for stdout" })
          .option("format", { choices: PREDICT_FORMATS, default: "table" as const, describe: "table for reading; jsonl, csv or tsv for programs" })
          .option("emotion", { type: "boolean", default: false, describe: "add the nearest Ekman emotion and its probability (the model's ekman-head)" })
          .option("head", { type: "string", describe: "read the heads from this folder instead of the model's" })
          .option("batch-size", { type: "number", default: 32, describe: "sentences per forward pass" })
          .option("offline", OFFLINE_OPTION)
          .example("echo 'I am thrilled about the news' | $0 predict", "base USE-lite with its shipped EmoBank head")
          .example("$0 predict --model runs/emobank --input posts.txt --format csv --output va.csv --emotion", "a trained run's best model")
          .check((argv) => {
            wholeNumber("batch-size", argv["batch-size"], 1)
            return true
          }),
      async (argv) => {
        const program = Effect.gen(function* () {
          const config = yield* commandConfig(argv)
          return yield* Effect.scoped(
            predictCommand({
              model: argv.model,
              input: argv.input,
              output: argv.output,
              format: argv.format,
              emotion: argv.emotion,
              head: argv.head,
              batchSize: argv["batch-size"],
              offline: argv.offline
            })
          ).pipe(Effect.provide(runtime(argv.backend, config.seed)))
        })
        await runCommand(program)
      }
    )
