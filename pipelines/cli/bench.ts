/** `carl bench`: CARL steps and embedding throughput, beside the PyTorch peer. */
import type { Argv } from "yargs"
import { Effect } from "effect"
import { Backend } from "../../plugins/backends/index.ts"
import { benchCommand, DEFAULT_BENCH_OPTIONS } from "../../pipelines/bench/index.ts"
import { checkMicroBatchFlag, runCommand, wholeNumber, type GlobalOptions } from "./command.ts"

export const benchCli = (cli: Argv<GlobalOptions>) =>
  cli
    .command(
      "bench",
      "time full CARL steps on a random BERT (or embedding throughput with --embed); one JSON line each",
      (command) =>
        command
          .option("layers", { type: "number", default: DEFAULT_BENCH_OPTIONS.layers })
          .option("hidden", { type: "number", default: DEFAULT_BENCH_OPTIONS.hidden })
          .option("heads", { type: "number", default: DEFAULT_BENCH_OPTIONS.heads })
          .option("ffn", { type: "number", default: DEFAULT_BENCH_OPTIONS.ffn })
          .option("vocab", { type: "number", default: DEFAULT_BENCH_OPTIONS.vocab })
          .option("seq", { type: "number", default: DEFAULT_BENCH_OPTIONS.seq, describe: "tokens per row, padding included (rows are ragged as the peer's)" })
          .option("batch", { type: "number", default: DEFAULT_BENCH_OPTIONS.batch })
          .option("steps", { type: "number", default: DEFAULT_BENCH_OPTIONS.steps, describe: "timed steps (median reported)" })
          .option("warmup", { type: "number", default: DEFAULT_BENCH_OPTIONS.warmup })
          .option("threads", { type: "number", describe: "recorded; tfjs-wasm runs one thread in Node whatever it says" })
          .option("embed", { type: "boolean", default: false, describe: "sentences/s of --model (and of the shipped graph model for use-lite)" })
          .option("model", { type: "string", describe: "use-lite, a model folder or a hub id (default: a random BERT of the shape flags for steps, use-lite for --embed)" })
          .option("data", { type: "string", describe: "steps on the first --batch training sentences of this VA file (as carl train --data), cut to --seq tokens" })
          .option("micro-batch", { type: "string", describe: "rows per micro-batch of a step (a number, or auto: what fits the backend's memory); default: the whole batch" })
          .option("peer", { type: "boolean", default: false, describe: "also run the PyTorch peer (pipelines/bench/peer/torch_carl.py bench) with the same config, and print the ratio" })
          .option("profile", { type: "boolean", default: false, describe: "also list the kernels of one profiled step" })
          .example("$0 bench --peer", "the issue's configuration, carl then the PyTorch peer, and the ratio")
          .example("$0 bench --embed --model use-lite", "embedding throughput, ours and the graph model's")
          .check((argv) => {
            for (const key of ["layers", "hidden", "heads", "ffn", "vocab", "seq", "batch", "steps"] as const) wholeNumber(key, argv[key], 1)
            if (argv.hidden % argv.heads !== 0) throw new Error(`--hidden ${argv.hidden} must be a multiple of --heads ${argv.heads}`)
            checkMicroBatchFlag(argv["micro-batch"])
            return true
          }),
      async (argv) => {
        const options = {
          ...DEFAULT_BENCH_OPTIONS,
          layers: argv.layers,
          hidden: argv.hidden,
          heads: argv.heads,
          ffn: argv.ffn,
          vocab: argv.vocab,
          seq: argv.seq,
          batch: argv.batch,
          steps: argv.steps,
          warmup: argv.warmup,
          embed: argv.embed,
          model: argv.model,
          data: argv.data,
          microBatch: argv["micro-batch"] === undefined ? undefined : argv["micro-batch"] === "auto" ? ("auto" as const) : Number(argv["micro-batch"]),
          peer: argv.peer,
          profile: argv.profile,
          seed: argv.seed ?? DEFAULT_BENCH_OPTIONS.seed,
          ...(argv.threads === undefined ? {} : { threads: argv.threads })
        }
        await runCommand(benchCommand(options).pipe(Effect.provide(Backend.layer(argv.backend))))
      }
    )
