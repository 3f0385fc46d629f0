/** `carl embed`: text to vectors. */
import type { Argv } from "yargs"
import { Effect } from "effect"
import { type Pooling } from "../../plugins/encoders/index.ts"
import { POOLINGS } from "../../plugins/encoders/index.ts"
import { embedCommand } from "../../pipelines/embed-command.ts"
import { commandConfig, OFFLINE_OPTION, runCommand, runtime, wholeNumber, type GlobalOptions } from "./command.ts"

export const embedCli = (cli: Argv<GlobalOptions>) =>
  cli
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
          .option("offline", OFFLINE_OPTION)
          .example("$0 embed --input sentences.txt --output vectors.jsonl", "USE-lite embeddings of each line")
          .example("echo 'I love this movie!' | $0 embed --model ./my-bert --input -", "a local BERT folder")
          .check((argv) => {
            wholeNumber("batch-size", argv["batch-size"], 1)
            wholeNumber("max-length", argv["max-length"], 2)
            return true
          }),
      async (argv) => {
        const program = Effect.gen(function* () {
          const config = yield* commandConfig(argv)
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
