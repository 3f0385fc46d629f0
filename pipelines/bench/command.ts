/**
 * `carl bench`: JSON lines on stdout, one per measurement, so that a script can read them:
 *
 *   carl bench [shape flags]            → carl's line (the peer's fields + backend, threads, memory)
 *   ... --profile                       → + {"profile": ...}: the kernels of one extra step
 *   ... --peer                          → + the peer's own line, then {"ratio_tokens_per_s": ...}
 *   carl bench --embed --model use-lite → one line: sentences/s of ours and of the graph model
 */
import { Console, Effect } from "effect"
import { checkBenchOptions, type BenchOptions } from "./options.ts"
import { benchEmbed } from "./embed.ts"
import { peerArgs, peerEnvironment, PEER_PYTHON, runPeer } from "./peer.ts"
import { profileStep } from "./profile.ts"
import { benchStepsWith } from "./steps.ts"

const round = (value: number, digits: number): number => Number(value.toFixed(digits))

const line = (value: unknown) => Console.log(JSON.stringify(value))

export const benchCommand = Effect.fn("benchCommand")(function* (options: BenchOptions) {
  const problem = checkBenchOptions(options)
  if (problem !== undefined) return yield* problem

  if (options.embed) {
    if (options.peer) yield* Console.error("carl bench: --peer compares CARL steps; it is ignored with --embed")
    yield* line(yield* benchEmbed(options))
    return
  }

  const { result, extra: profile } = yield* benchStepsWith(options, options.profile ? profileStep : undefined)
  yield* line(result)
  if (profile !== undefined) {
    yield* line({
      profile: { backend: result.backend, ...profile },
      // Against the median timed step, not the profiled one (the profiler adds its own overhead).
      matmul_gflops_per_step_time: round(profile.matmul_gflop / (result.ms_per_step / 1000), 2)
    })
  }

  if (options.peer) {
    // Without --threads the peer gets what carl's backend really used, so both run alike.
    const threads = options.threads ?? result.threads
    const peer = yield* runPeer(options, threads)
    yield* line(peer)
    const environment = peerEnvironment()
    yield* line({
      ratio_tokens_per_s: round(result.tokens_per_s / peer.tokens_per_s, 3),
      carl_tokens_per_s: result.tokens_per_s,
      peer_tokens_per_s: peer.tokens_per_s,
      carl_ms_per_step: result.ms_per_step,
      peer_ms_per_step: peer.ms_per_step,
      carl_backend: result.backend,
      carl_threads: result.threads,
      peer_threads: threads,
      openblas_coretype: environment["OPENBLAS_CORETYPE"] ?? "unset",
      peer_env: environment,
      peer_command: [PEER_PYTHON, ...peerArgs(options, threads)].join(" ")
    })
  }
})
