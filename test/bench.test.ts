/**
 * `carl bench` on a tiny BERT on the cpu backend: the JSON line has every field the peer prints
 * and carl's own, a step takes time, and neither the timed steps nor the run leave tensors behind.
 * No assertion on how fast anything is: the numbers belong in docs/PERFORMANCE.md, not in a test.
 */
import assert from "node:assert/strict"
import { execFile } from "node:child_process"
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { describe, test } from "node:test"
import { Effect } from "effect"
import { Backend } from "../plugins/backends/index.ts"
import {
  benchSteps,
  benchStepsWith,
  checkBenchOptions,
  DEFAULT_BENCH_OPTIONS,
  matmulFlops,
  peerArgs,
  PEER_PYTHON,
  PEER_SCRIPT,
  profileStep,
  raggedLength,
  type BenchOptions
} from "../pipelines/bench/index.ts"

const TINY: BenchOptions = {
  ...DEFAULT_BENCH_OPTIONS,
  layers: 1,
  hidden: 16,
  heads: 2,
  ffn: 32,
  vocab: 1000,
  seq: 8,
  batch: 4,
  steps: 2
}

const onCpu = <A, E>(program: Effect.Effect<A, E, Backend>) => Effect.runPromise(program.pipe(Effect.provide(Backend.layer("cpu"))))

/** The fields torch_carl.py's cmd_bench prints; carl's line must carry each of them. */
const PEER_FIELDS = ["impl", "threads", "layers", "hidden", "heads", "ffn", "vocab", "seq", "batch", "ms_per_step", "tokens_per_s", "runs_ms"]
const CARL_FIELDS = ["backend", "threads_requested", "threads_note", "warmup", "steps", "rss_peak_mb", "tensors", "nonfinite_steps"]

describe("carl bench: CARL steps", () => {
  test("the JSON line has every field, a step takes time, and tensors do not grow", async () => {
    const result = await onCpu(benchSteps({ ...TINY, threads: 3 }))
    const line = JSON.parse(JSON.stringify(result)) as Record<string, unknown>
    for (const field of [...PEER_FIELDS, ...CARL_FIELDS]) assert.ok(field in line, `missing field ${field}`)
    assert.equal(result.impl, "carl")
    assert.equal(result.backend, "cpu")
    assert.deepEqual(
      [result.layers, result.hidden, result.heads, result.ffn, result.vocab, result.seq, result.batch],
      [1, 16, 2, 32, 1000, 8, 4]
    )
    assert.equal(result.runs_ms.length, 2)
    assert.ok(result.ms_per_step > 0)
    assert.ok(result.tokens_per_s > 0)
    assert.ok(result.rss_peak_mb > 0)
    assert.equal(result.nonfinite_steps, 0)
    // Recorded as asked, never presented as applied: the cpu backend runs one thread.
    assert.equal(result.threads_requested, 3)
    assert.equal(result.threads, 1)
    assert.equal(result.tensors.after, result.tensors.before, "a timed step left tensors behind")
    assert.equal(result.tensors.left_after_dispose, 0, "the run left tensors behind once disposed")
  })

  test("a profiled step lists its kernels and counts matmul FLOPs, leaving no tensor", async () => {
    const { result, extra } = await onCpu(benchStepsWith(TINY, profileStep))
    assert.ok(extra !== undefined)
    assert.ok(extra.kernel_calls > 0)
    assert.ok(extra.top.length > 0)
    assert.ok(extra.top.some((kernel) => kernel.kernel === "BatchMatMul"))
    assert.ok(extra.matmul_gflop > 0)
    assert.equal(result.tensors.left_after_dispose, 0)
  })
})

describe("carl bench: the peer's rules", () => {
  test("ragged lengths follow torch_carl.py: mask[b, max(4, seq - (b * 7) % (seq // 2)):] = 0", () => {
    // Values printed by Python for that line.
    assert.deepEqual(
      Array.from({ length: 8 }, (_, b) => raggedLength(b, 64)),
      [64, 57, 50, 43, 36, 61, 54, 47]
    )
    assert.deepEqual([0, 1, 2].map((b) => raggedLength(b, 4)), [4, 4, 4])
    assert.deepEqual([0, 1, 2, 3, 4, 5].map((b) => raggedLength(b, 8)), [8, 5, 6, 7, 8, 5])
    // The slice taken literally: zeros from the start index on, none when it is past the end.
    for (const seq of [2, 3, 4, 5, 7, 8, 31, 64, 100]) {
      for (let b = 0; b < 40; b++) {
        const mask = new Array<number>(seq).fill(1)
        for (let t = Math.max(4, seq - ((b * 7) % Math.floor(seq / 2))); t < seq; t++) mask[t] = 0
        assert.equal(raggedLength(b, seq), mask.reduce((a, c) => a + c, 0), `seq ${seq}, row ${b}`)
      }
    }
  })

  test("the peer is asked for the same config and thread count", () => {
    const args = peerArgs({ ...DEFAULT_BENCH_OPTIONS, steps: 7 }, 2)
    assert.equal(args[1], "bench")
    const flag = (name: string) => args[args.indexOf(`--${name}`) + 1]
    assert.equal(flag("layers"), "2")
    assert.equal(flag("vocab"), "30522")
    assert.equal(flag("steps"), "7")
    assert.equal(flag("threads"), "2")
  })

  test("matmul FLOPs come from the shapes, whatever the transpose flags", () => {
    // [2048, 128] × [128, 512]: 2·M·N·K.
    assert.equal(matmulFlops([[2048, 128], [128, 512]], [2048, 512]), 2 * 2048 * 512 * 128)
    // Batched, with a transposed: a is [b, K, M].
    assert.equal(matmulFlops([[4, 64, 32], [4, 64, 16]], [4, 32, 16]), 2 * 4 * 32 * 16 * 64)
  })

  test("bad options are refused with the flag's name", () => {
    assert.equal(checkBenchOptions(DEFAULT_BENCH_OPTIONS), undefined)
    assert.match(checkBenchOptions({ ...DEFAULT_BENCH_OPTIONS, heads: 3 })?.message ?? "", /--heads/)
    assert.match(checkBenchOptions({ ...DEFAULT_BENCH_OPTIONS, seq: 1 })?.message ?? "", /--seq/)
    assert.match(checkBenchOptions({ ...DEFAULT_BENCH_OPTIONS, threads: 0 })?.message ?? "", /--threads/)
    assert.match(checkBenchOptions({ ...TINY, peer: true })?.message ?? "", /--vocab/)
  })
})

const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url))
const TINY_FLAGS = ["--backend", "cpu", "--layers", "1", "--hidden", "16", "--heads", "2", "--ffn", "32", "--seq", "8", "--batch", "4", "--steps", "2"]

const runBench = async (flags: ReadonlyArray<string>): Promise<Array<Record<string, unknown>>> => {
  const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "pipelines/bench/run-bench.ts", ...flags], { cwd: REPO_ROOT })
  return stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>)
}

describe("carl bench: the script's output", () => {
  test("one JSON line per measurement", async () => {
    const lines = await runBench([...TINY_FLAGS, "--vocab", "1000"])
    assert.equal(lines.length, 1)
    assert.equal(lines[0]?.["impl"], "carl")
  })

  const hasPeer = existsSync(PEER_PYTHON) && existsSync(PEER_SCRIPT)
  test("--peer adds the peer's own line and the ratio, with the BLAS environment recorded", { skip: hasPeer ? false : "no peer here" }, async () => {
    const lines = await runBench([...TINY_FLAGS, "--vocab", "2000", "--threads", "1", "--peer"])
    assert.equal(lines.length, 3)
    const [carl, peer, ratio] = lines
    assert.equal(carl?.["impl"], "carl")
    assert.equal(peer?.["impl"], "torch")
    assert.equal(peer?.["threads"], 1)
    for (const field of PEER_FIELDS) assert.ok(field in (peer ?? {}), `the peer's line lacks ${field}`)
    assert.equal(typeof ratio?.["ratio_tokens_per_s"], "number")
    assert.equal(ratio?.["openblas_coretype"], process.env["OPENBLAS_CORETYPE"] ?? "unset")
  })
})
