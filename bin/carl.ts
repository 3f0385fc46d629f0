#!/usr/bin/env -S node --import tsx
/**
 * The carl command line. Each command is an Effect program; a failure prints one line naming
 * what went wrong and exits non-zero.
 */
import { readFileSync } from "node:fs"
import { availableParallelism, cpus, totalmem } from "node:os"
import * as tf from "@tensorflow/tfjs"
import { Cause, Console, Effect, Exit, Layer } from "effect"
import yargs from "yargs"
import { hideBin } from "yargs/helpers"
import { Backend, BACKEND_CHOICES, type BackendChoice } from "../core/backend.ts"
import { loadConfig } from "../core/config-file.ts"
import { Rng } from "../core/rng.ts"
import { smokeRun } from "../pipelines/smoke.ts"

const packageJson = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
  readonly version: string
  readonly dependencies: Readonly<Record<string, string>>
}

const messageOf = (error: unknown): string => {
  if (error instanceof Error) return error.message.split("\n")[0] ?? error.message
  return String(error)
}

/** Runs a command's program; failures and defects end in one line on stderr and exit code 1. */
const runCommand = async <A, E>(program: Effect.Effect<A, E>): Promise<void> => {
  const exit = await Effect.runPromiseExit(program)
  if (Exit.isFailure(exit)) {
    if (Cause.hasInterruptsOnly(exit.cause)) {
      process.stderr.write("carl: interrupted\n")
      process.exitCode = 130
      return
    }
    process.stderr.write(`carl: ${messageOf(Cause.squash(exit.cause))}\n`)
    process.exitCode = 1
  }
}

const runtime = (backend: BackendChoice, seed: number) => Layer.mergeAll(Backend.layer(backend), Rng.layer(seed))

const info = Effect.gen(function* () {
  const backend = yield* Backend
  const lines = [
    `carl ${packageJson.version}`,
    `node ${process.version} (${process.platform}-${process.arch}); ${availableParallelism()} cores (${cpus()[0]?.model ?? "unknown cpu"}); ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `tfjs ${tf.version.tfjs}; effect ${packageJson.dependencies["effect"] ?? "?"}`,
    `backend: ${backend.reason}`,
    `threads: ${backend.threads}`,
    ...backend.attempts.map((attempt) => `  ${attempt.ok ? "ok  " : "no  "} ${attempt.backend} via ${attempt.via}: ${attempt.detail}`)
  ]
  yield* Console.log(lines.join("\n"))
})

await yargs(hideBin(process.argv))
  .scriptName("carl")
  .usage("$0 <command> [options]\n\nEmotion-aware sentence embeddings with CARL.")
  .option("backend", {
    choices: BACKEND_CHOICES,
    default: "auto" as BackendChoice,
    describe: "tfjs backend: auto picks tensorflow (tfjs-node-gpu, then tfjs-node), then wasm, then cpu"
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
    "info",
    "print versions, the backend carl would use and why, and threads",
    (command) => command.example("$0 info --backend wasm", "what the wasm backend reports"),
    async (argv) => {
      await runCommand(info.pipe(Effect.provide(Backend.layer(argv.backend))))
    }
  )
  .demandCommand(1, "name a command: smoke or info")
  .strict()
  .fail((message, error, instance) => {
    if (error !== undefined && error !== null && !message) throw error
    process.stderr.write(`carl: ${message ?? messageOf(error)}\n(see carl --help)\n`)
    void instance
    process.exit(1)
  })
  .help()
  .parseAsync()
