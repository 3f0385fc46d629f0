/**
 * What every command of the carl command line shares: the global options, the runtime its
 * program runs in (the backend, the seeded RNG), and how a program's end becomes an exit: a
 * failure or a defect is one `carl: …` line on stderr and exit 1 (130/143 for a run stopped by
 * SIGINT/SIGTERM).
 */
import { Cause, Effect, Exit, Layer } from "effect"
import { oneLine } from "../../core/errors.ts"
import { Rng } from "../../core/rng.ts"
import { loadConfig } from "../../plugins/carl/config-file.ts"
import { Backend, type BackendChoice } from "../../plugins/backends/index.ts"
import { hubSettings } from "../../plugins/encoders/hub/hub-settings.ts"

/** The options every command takes (main.ts declares them). */
export interface GlobalOptions {
  readonly backend: BackendChoice
  readonly config: string | undefined
  readonly seed: number | undefined
}

/** One line however the message was written: its lines joined, control characters escaped. */
export const asOneLine = (message: string): string => oneLine(message.trim().replace(/\s*\n\s*/g, " "))

export const messageOf = (error: unknown): string => asOneLine(error instanceof Error ? error.message : String(error))

/** A flag's whole-number check, for yargs' .check(). */
export const wholeNumber = (name: string, value: number | undefined, minimum: number): void => {
  if (value !== undefined && !(Number.isInteger(value) && value >= minimum)) throw new Error(`--${name} must be a whole number ≥ ${minimum}, got ${value}`)
}

/** `--micro-batch`: a whole number ≥ 1, or auto. */
export const checkMicroBatchFlag = (value: string | number | undefined): void => {
  if (value !== undefined && value !== "auto" && !(Number.isInteger(Number(value)) && Number(value) >= 1)) {
    throw new Error(`--micro-batch must be a whole number ≥ 1 or auto, got ${value}`)
  }
}

/**
 * The configuration a command runs under: --config's file (or the defaults) with --seed over it.
 * Every command reads it, so a bad --config fails every command the same way and the seed has one
 * default (the configuration's).
 */
export const commandConfig = (argv: GlobalOptions) => loadConfig(argv.config, argv.seed === undefined ? {} : { seed: argv.seed })

export const runtime = (backend: BackendChoice, seed: number) => Layer.mergeAll(Backend.layer(backend), Rng.layer(seed))

/** Runs a command's program; failures and defects end in one line on stderr and exit code 1. */
export const runCommand = async <A, E>(program: Effect.Effect<A, E>): Promise<void> => {
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

/** `--offline`, for every command that loads a model: its default is the hub's reading of $HF_HUB_OFFLINE. */
export const OFFLINE_OPTION = { type: "boolean", default: hubSettings().offline, describe: "use only the local model cache (default: $HF_HUB_OFFLINE)" } as const
