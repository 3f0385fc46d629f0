/**
 * The carl command line (yargs): the global options, one module per command, and how a usage error
 * ends (one line, exit 1). bin/cli.ts runs it; bin/carl.ts runs that, for the heavy commands in a
 * child process it watches.
 */
// The reliability tests reach into commands through this (off unless CARL_TEST_FAULT is set).
import "../test-faults.ts"
import yargs from "yargs"
import { hideBin } from "yargs/helpers"
import { BACKEND_CHOICES, type BackendChoice } from "../../plugins/backends/index.ts"
import { benchCli } from "./bench.ts"
import { asOneLine, messageOf } from "./command.ts"
import { dataCli } from "./data.ts"
import { embedCli } from "./embed.ts"
import { evalCli } from "./eval.ts"
import { fitHeadCli } from "./fit-head.ts"
import { infoCli } from "./info.ts"
import { predictCli } from "./predict.ts"
import { serveCli } from "./serve.ts"
import { smokeCli } from "./smoke.ts"
import { trainCli } from "./train.ts"

// Started by bin/carl.ts as its watched child: if that process is killed outright, stop with it.
if (process.env["CARL_SUPERVISED"] === "1" && process.send !== undefined) {
  process.channel?.unref()
  process.on("disconnect", () => process.kill(process.pid, "SIGKILL"))
}

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

/** Commands that read no configuration file: data, bench (its options are the benchmark's shape) and info. */
const COMMANDS_WITHOUT_CONFIG: ReadonlyArray<string> = ["data", "bench", "info"]

const cli = yargs(withDashValues(hideBin(process.argv)))
  .scriptName("carl")
  .usage("$0 <command> [options]\n\nEmotion-aware sentence embeddings with CARL.")
  .option("backend", {
    choices: BACKEND_CHOICES,
    default: "auto" as BackendChoice,
    describe: "tfjs backend: auto picks tensorflow (tfjs-node-gpu, then tfjs-node), then native (wasm + OpenBLAS kernels, if built), then wasm, then cpu; native-cpu: OpenBLAS kernels on the cpu backend, for models beyond the 4 GiB wasm heap"
  })
  .option("config", { type: "string", describe: "JSON configuration file; flags override its values" })
  .option("seed", { type: "number", describe: "random seed (default: the configuration's seed, 42)" })

await [predictCli, trainCli, evalCli, fitHeadCli, serveCli, embedCli, dataCli, benchCli, smokeCli, infoCli]
  .reduce((built, add) => add(built), cli)
  .demandCommand(1, "name a command: predict, train, eval, fit-head, serve, embed, data, bench, smoke or info")
  .strict()
  .check((argv) => {
    // These commands take no configuration; a --config given to them would be silently ignored.
    const command = String(argv._[0])
    if (argv.config !== undefined && COMMANDS_WITHOUT_CONFIG.includes(command)) throw new Error(`carl ${command} takes no --config (its options are its flags)`)
    // `--out ""` or `--config` with nothing after it would reach the commands as an empty path.
    for (const [key, value] of Object.entries(argv)) {
      if (key === "_" || key === "$0" || /[A-Z]/.test(key)) continue
      const values: ReadonlyArray<unknown> = Array.isArray(value) ? value : [value]
      if (values.includes("")) throw new Error(`--${key} needs a value`)
      if ((key === "data" || key === "model") && Array.isArray(value) && value.length === 0) throw new Error(`--${key} needs at least one value`)
    }
    return true
  })
  .fail((message, error, instance) => {
    if (error !== undefined && error !== null && !message) throw error
    process.stderr.write(`carl: ${message ? asOneLine(message) : messageOf(error)}\n(see carl --help)\n`)
    void instance
    process.exit(1)
  })
  .help()
  .parseAsync()
