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
import { POOLINGS, type Pooling } from "../plugins/encoder/index.ts"
import { embedCommand } from "../pipelines/embed-command.ts"
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
    "info",
    "print versions, the backend carl would use and why, and threads",
    (command) => command.example("$0 info --backend wasm", "what the wasm backend reports"),
    async (argv) => {
      await runCommand(info.pipe(Effect.provide(Backend.layer(argv.backend))))
    }
  )
  .demandCommand(1, "name a command: smoke, embed or info")
  .strict()
  .fail((message, error, instance) => {
    if (error !== undefined && error !== null && !message) throw error
    process.stderr.write(`carl: ${message ?? messageOf(error)}\n(see carl --help)\n`)
    void instance
    process.exit(1)
  })
  .help()
  .parseAsync()
