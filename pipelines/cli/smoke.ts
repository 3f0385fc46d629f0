/** `carl smoke`: the one-step check on a tiny random BERT. */
import type { Argv } from "yargs"
import { Effect } from "effect"
import { smokeRun } from "../../pipelines/smoke.ts"
import { commandConfig, runCommand, runtime, wholeNumber, type GlobalOptions } from "./command.ts"

export const smokeCli = (cli: Argv<GlobalOptions>) =>
  cli
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
            for (const key of ["steps", "batch-size", "seq-length"] as const) wholeNumber(key, argv[key], 1)
            if (argv["seq-length"] < 2) throw new Error("--seq-length must be at least 2")
            return true
          }),
      async (argv) => {
        const program = Effect.gen(function* () {
          const config = yield* commandConfig(argv)
          return yield* Effect.scoped(
            smokeRun(config, { steps: argv.steps, batchSize: argv["batch-size"], seqLength: argv["seq-length"] }).pipe(
              Effect.provide(runtime(argv.backend, config.seed))
            )
          )
        })
        await runCommand(program)
      }
    )
