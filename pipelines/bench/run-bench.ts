/**
 * `carl bench` before it is wired into bin/carl.ts, with the same flags:
 *
 *   npx tsx pipelines/bench/run-bench.ts --backend wasm --layers 2 --hidden 128 --heads 2 --ffn 512 \
 *     --vocab 30522 --seq 64 --batch 32 --steps 5 --threads 2 --peer [--profile]
 *   npx tsx pipelines/bench/run-bench.ts --backend wasm --embed --model use-lite
 *
 * Deliberately minimal parsing (yargs belongs to bin/carl.ts): `--name value`, `--name=value`,
 * and bare boolean switches.
 */
import { Cause, Effect, Exit } from "effect"
import { type BackendChoice } from "../../plugins/backends/index.ts"
import { BACKEND_CHOICES } from "../../plugins/backends/index.ts"
import { Backend } from "../../plugins/backends/index.ts"
import { benchCommand } from "./command.ts"
import { DEFAULT_BENCH_OPTIONS, type BenchOptions } from "./options.ts"

const NUMBER_FLAGS = ["layers", "hidden", "heads", "ffn", "vocab", "seq", "batch", "steps", "warmup", "threads", "seed"] as const
const SWITCHES = ["embed", "peer", "profile"] as const

type NumberFlag = (typeof NUMBER_FLAGS)[number]
type Switch = (typeof SWITCHES)[number]

const fail = (message: string): never => {
  process.stderr.write(`run-bench: ${message}\n`)
  process.exit(2)
}

const parse = (argv: ReadonlyArray<string>): { readonly backend: BackendChoice; readonly options: BenchOptions } => {
  const numbers: Partial<Record<NumberFlag, number>> = {}
  const switches: Partial<Record<Switch, boolean>> = {}
  let backend: BackendChoice = "auto"
  let model = DEFAULT_BENCH_OPTIONS.model
  let data = DEFAULT_BENCH_OPTIONS.data
  let microBatch = DEFAULT_BENCH_OPTIONS.microBatch
  let memory = DEFAULT_BENCH_OPTIONS.memory
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? ""
    if (!arg.startsWith("--")) fail(`unexpected argument ${arg}`)
    const [name = "", inline] = arg.slice(2).split("=", 2)
    if ((SWITCHES as ReadonlyArray<string>).includes(name)) {
      switches[name as Switch] = inline === undefined ? true : inline !== "false"
      continue
    }
    const value = inline ?? argv[++i]
    if (value === undefined) fail(`--${name} needs a value`)
    const text = value ?? ""
    if (name === "backend") {
      if (!(BACKEND_CHOICES as ReadonlyArray<string>).includes(text)) fail(`--backend must be one of ${BACKEND_CHOICES.join(", ")}`)
      backend = text as BackendChoice
    } else if (name === "model") model = text
    else if (name === "data") data = text
    else if (name === "memory") {
      if (text !== "keep" && text !== "recompute") fail(`--memory must be keep or recompute, got ${text}`)
      memory = text as "keep" | "recompute"
    }
    else if (name === "micro-batch") {
      const number = Number(text)
      if (text !== "auto" && !Number.isFinite(number)) fail(`--micro-batch must be a number or auto, got ${text}`)
      microBatch = text === "auto" ? "auto" : number
    }
    else if ((NUMBER_FLAGS as ReadonlyArray<string>).includes(name)) {
      const number = Number(text)
      if (!Number.isFinite(number)) fail(`--${name} must be a number, got ${text}`)
      numbers[name as NumberFlag] = number
    } else fail(`unknown flag --${name}`)
  }
  const { threads, ...shape } = numbers
  return {
    backend,
    options: {
      ...DEFAULT_BENCH_OPTIONS,
      ...shape,
      ...(threads === undefined ? {} : { threads }),
      ...switches,
      model,
      data,
      microBatch,
      memory
    }
  }
}

const { backend, options } = parse(process.argv.slice(2))
const exit = await Effect.runPromiseExit(benchCommand(options).pipe(Effect.provide(Backend.layer(backend))))
if (Exit.isFailure(exit)) {
  const error = Cause.squash(exit.cause)
  process.stderr.write(`run-bench: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exitCode = 1
}
