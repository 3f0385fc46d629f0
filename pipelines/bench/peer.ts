/**
 * The PyTorch peer (pipelines/bench/peer/torch_carl.py bench), run as a child process with the same
 * config and thread count. It inherits this process's environment untouched: the BLAS settings
 * (OPENBLAS_*, OMP_*) stay as the machine has them, and are recorded.
 */
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { Effect, Schema } from "effect"
import type { BenchOptions } from "./options.ts"

/** Debian's PyTorch is installed for the system python, not for a pyenv one. */
export const PEER_PYTHON = "/usr/bin/python3"
export const PEER_SCRIPT = fileURLToPath(new URL("./peer/torch_carl.py", import.meta.url))

export class BenchPeerError extends Schema.TaggedError<BenchPeerError>()("BenchPeerError", {
  command: Schema.String,
  problem: Schema.String
}) {
  override get message(): string {
    return `bench peer (${this.command}): ${this.problem}`
  }
}

/** What the peer prints (its cmd_bench), as far as the ratio needs it; the rest is passed through. */
export interface PeerResult {
  readonly impl: string
  readonly threads: number
  readonly ms_per_step: number
  readonly tokens_per_s: number
  readonly [field: string]: unknown
}

export const peerArgs = (options: BenchOptions, threads: number): Array<string> => [
  PEER_SCRIPT,
  "bench",
  ...(["layers", "hidden", "heads", "ffn", "vocab", "seq", "batch", "steps", "warmup", "seed"] as const).flatMap((key) => [
    `--${key}`,
    String(options[key])
  ]),
  "--threads",
  String(threads)
]

/** Environment variables that change how the peer's math library runs: value or "unset". */
export const peerEnvironment = (): Readonly<Record<string, string>> =>
  Object.fromEntries(
    ["OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"].map((name) => [name, process.env[name] ?? "unset"])
  )

const isPeerResult = (value: unknown): value is PeerResult =>
  typeof value === "object" &&
  value !== null &&
  typeof (value as Record<string, unknown>)["ms_per_step"] === "number" &&
  typeof (value as Record<string, unknown>)["tokens_per_s"] === "number"

const tail = (text: string): string => text.trim().split("\n").slice(-3).join(" | ")

export const runPeer = (options: BenchOptions, threads: number): Effect.Effect<PeerResult, BenchPeerError> => {
  const args = peerArgs(options, threads)
  const command = [PEER_PYTHON, ...args].join(" ")
  return Effect.callback<PeerResult, BenchPeerError>((resume) => {
    const child = execFile(PEER_PYTHON, args, { env: process.env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error !== null) {
        resume(Effect.fail(new BenchPeerError({ command, problem: `${error.message.split("\n")[0] ?? ""}${stderr === "" ? "" : `: ${tail(stderr)}`}` })))
        return
      }
      const line = stdout.trim().split("\n").at(-1) ?? ""
      let parsed: unknown
      try {
        parsed = JSON.parse(line)
      } catch {
        resume(Effect.fail(new BenchPeerError({ command, problem: `printed no JSON line: ${tail(stdout)}` })))
        return
      }
      if (!isPeerResult(parsed)) {
        resume(Effect.fail(new BenchPeerError({ command, problem: `its JSON has no ms_per_step/tokens_per_s: ${line}` })))
        return
      }
      resume(Effect.succeed(parsed))
    })
    // An interrupted bench (Ctrl-C) must not leave the peer running.
    return Effect.sync(() => {
      child.kill("SIGTERM")
    })
  })
}
