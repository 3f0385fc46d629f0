/** `carl fit-head`: the heads that turn a model's embeddings into valence, arousal and emotion. */
import type { Argv } from "yargs"
import { Effect } from "effect"
import { POOLINGS, type Pooling } from "../../plugins/encoders/index.ts"
import { fitHeadCommand } from "../../pipelines/heads/fit-head-command.ts"
import { commandConfig, OFFLINE_OPTION, runCommand, runtime, wholeNumber, type GlobalOptions } from "./command.ts"
import { checkScaleFlag, dataSpecs, vaDataFlags } from "./va-data-flags.ts"

export const fitHeadCli = (cli: Argv<GlobalOptions>) =>
  cli
    .command(
      "fit-head",
      "fit a model's heads: the VA head on a valence–arousal corpus (--data), the Ekman head on GoEmotions (--goemotions)",
      (command) =>
        vaDataFlags(command, "--data")
          .option("model", { type: "string", demandOption: true, describe: "use-lite, a run folder, a model folder or a hub id" })
          .option("data", { type: "string", array: true, describe: "VA corpora (as carl train --data): the VA head, λ chosen on their dev split, scored on test" })
          .option("goemotions", { type: "string", describe: "a GoEmotions folder (carl data fetch goemotions): the Ekman head" })
          .option("out", { type: "string", describe: "where the heads go (default: beside the model; required for use-lite and hub ids)" })
          .option("pooling", { choices: POOLINGS, describe: "default: config model.pooling (cls)" })
          .option("max-length", { type: "number", describe: "tokens per sentence (default: config model.maxLength, 128)" })
          .option("batch-size", { type: "number", default: 64, describe: "sentences per forward pass" })
          .option("offline", OFFLINE_OPTION)
          .example("$0 fit-head --model runs/x/best --data emobank.csv", "a VA head for a trained model")
          .example("$0 fit-head --model bert-base-uncased --data posts.csv --goemotions ~/.cache/carl/data/goemotions --out heads/bert", "both heads for a hub model")
          .check((argv) => {
            wholeNumber("batch-size", argv["batch-size"], 1)
            wholeNumber("max-length", argv["max-length"], 2)
            checkScaleFlag(argv.scale)
            return true
          }),
      async (argv) => {
        const program = Effect.gen(function* () {
          const config = yield* commandConfig(argv)
          return yield* Effect.scoped(
            fitHeadCommand({
              model: argv.model,
              data: dataSpecs(argv.data ?? [], argv),
              goemotions: argv.goemotions,
              out: argv.out,
              pooling: (argv.pooling ?? config.model.pooling) as Pooling,
              maxLength: argv["max-length"] ?? config.model.maxLength,
              batchSize: argv["batch-size"],
              seed: config.seed,
              skipBadRows: argv["skip-bad-rows"],
              offline: argv.offline
            }).pipe(Effect.provide(runtime(argv.backend, config.seed)))
          )
        })
        await runCommand(program)
      }
    )
