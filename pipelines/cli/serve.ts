/** `carl serve`: a local page that shows valence and arousal as you type. */
import type { Argv } from "yargs"
import { Effect } from "effect"
import { serveCommand } from "../../pipelines/serve/serve-command.ts"
import { commandConfig, OFFLINE_OPTION, runCommand, runtime, wholeNumber, type GlobalOptions } from "./command.ts"
import { checkScaleFlag, dataSpecs, vaDataFlags } from "./va-data-flags.ts"

export const serveCli = (cli: Argv<GlobalOptions>) =>
  cli.command(
    "serve",
    "a local page: type text, see it on the valence–arousal plane and among its nearest reference sentences",
    (command) =>
      vaDataFlags(command, "--reference")
        .option("model", { type: "string", default: "use-lite", describe: "use-lite (heads shipped), a run folder, a model folder or a hub id with a fitted head" })
        .option("head", { type: "string", describe: "read the heads from this folder instead of the model's" })
        .option("host", { type: "string", default: "127.0.0.1", describe: "address to listen on (default: this machine only)" })
        .option("port", { type: "number", default: 8765, describe: "port (0: any free one)" })
        .option("reference", { type: "string", describe: "VA corpus whose sentences the page shows as neighbours and on the map (default: EmoBank's test split, bundled)" })
        .option("reference-size", { type: "number", default: 1000, describe: "at most this many reference sentences (a seeded sample)" })
        .option("neighbours", { type: "number", default: 5, describe: "nearest reference sentences shown" })
        .option("batch-size", { type: "number", default: 64, describe: "sentences per forward pass when embedding the reference" })
        .option("offline", OFFLINE_OPTION)
        .example("$0 serve", "base USE-lite at http://127.0.0.1:8765/")
        .example("$0 serve --model runs/emobank --port 9000", "a trained run's best model")
        .check((argv) => {
          wholeNumber("port", argv.port, 0)
          if (argv.port > 65535) throw new Error(`--port must be at most 65535, got ${argv.port}`)
          wholeNumber("reference-size", argv["reference-size"], 3)
          wholeNumber("neighbours", argv.neighbours, 1)
          wholeNumber("batch-size", argv["batch-size"], 1)
          checkScaleFlag(argv.scale)
          return true
        }),
    async (argv) => {
      const [reference] = argv.reference === undefined ? [] : dataSpecs([argv.reference], argv)
      const program = Effect.gen(function* () {
        const config = yield* commandConfig(argv)
        return yield* Effect.scoped(
          serveCommand({
            model: argv.model,
            head: argv.head,
            host: argv.host,
            port: argv.port,
            reference,
            skipBadRows: argv["skip-bad-rows"],
            referenceSize: argv["reference-size"],
            neighbours: argv.neighbours,
            batchSize: argv["batch-size"],
            offline: argv.offline
          })
        ).pipe(Effect.provide(runtime(argv.backend, config.seed)))
      })
      await runCommand(program)
    }
  )
