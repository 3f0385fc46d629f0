/**
 * The carl command line, run as a child process: exit codes, the lines it prints, and failures
 * that are one "carl: " line naming the problem, never a stack trace.
 */
import assert from "node:assert/strict"
import { spawn } from "node:child_process"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { after, before, describe, test } from "node:test"

const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url))
const TIMEOUT_MS = 60_000

interface Run {
  readonly status: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** `node --import tsx bin/carl.ts ...args` in the repository root. */
const carl = (...args: ReadonlyArray<string>): Promise<Run> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "bin/carl.ts", ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
      timeout: TIMEOUT_MS
    })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    child.on("error", reject)
    child.on("close", (status, signal) => resolve({ status, signal, stdout, stderr }))
  })

const lines = (text: string): Array<string> => text.split("\n").filter((line) => line.length > 0)

const describeRun = (run: Run): string =>
  `exit ${run.status} (signal ${run.signal})\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`

const assertNoStackTrace = (run: Run): void => {
  for (const line of lines(run.stderr)) {
    assert.ok(!line.includes("    at "), `a stack-trace line on stderr: ${line}\n${describeRun(run)}`)
  }
}

/** A failure: exit 1, the first stderr line is "carl: ...", at most a "(see carl --help)" hint after it. */
const assertOneLineFailure = (run: Run): string => {
  assert.equal(run.status, 1, describeRun(run))
  assertNoStackTrace(run)
  const [first, ...rest] = lines(run.stderr)
  assert.ok(first !== undefined && first.startsWith("carl: "), describeRun(run))
  for (const line of rest) assert.equal(line, "(see carl --help)", describeRun(run))
  return first
}

// The runs are independent child processes: two at a time (startup is CPU-bound: tsx and tfjs loading).
describe("carl CLI", { concurrency: 2 }, () => {
  let dir = ""
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "carl-cli-test-"))
  })
  after(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  test("smoke --backend cpu runs one step and reports the stages and the backend", async () => {
    const run = await carl("smoke", "--backend", "cpu")
    assert.equal(run.status, 0, describeRun(run))
    assert.match(run.stdout, /step 1\/1/)
    assert.match(run.stdout, /stage 0:/)
    assert.match(run.stdout, /stage 1:/)
    assert.match(run.stdout, /^backend: cpu/m)
    assert.doesNotMatch(run.stdout, /step 2\//)
    assert.doesNotMatch(run.stdout, /NaN|Infinity/, "the losses are finite")
    assertNoStackTrace(run)
  })

  test("smoke --steps 0 fails in one line naming --steps", async () => {
    const run = await carl("smoke", "--steps", "0")
    const first = assertOneLineFailure(run)
    assert.match(first, /--steps/)
    assert.equal(run.stdout, "", "nothing ran")
  })

  test("smoke --config with a bad value fails naming the file and pgd.epsilon", async () => {
    const path = join(dir, "bad-epsilon.json")
    await writeFile(path, JSON.stringify({ pgd: { epsilon: -1 } }), "utf8")
    const run = await carl("smoke", "--backend", "cpu", "--config", path)
    const first = assertOneLineFailure(run)
    assert.ok(first.includes(path), first)
    assert.match(first, /pgd\.epsilon/)
    assert.doesNotMatch(run.stdout, /step /, "no step ran")
  })

  test("smoke --config with a missing file fails naming the path", async () => {
    const path = join(dir, "no-such-config.json")
    const run = await carl("smoke", "--backend", "cpu", "--config", path)
    const first = assertOneLineFailure(run)
    assert.ok(first.includes(path), first)
    assert.match(first, /ENOENT/)
  })

  test("info --backend cpu prints the backend", async () => {
    const run = await carl("info", "--backend", "cpu")
    assert.equal(run.status, 0, describeRun(run))
    assert.match(run.stdout, /^backend: cpu/m)
    assert.match(run.stdout, /^carl \d+\.\d+\.\d+/m)
    assert.match(run.stdout, /^threads: 1$/m)
    assertNoStackTrace(run)
  })

  test("an unknown command fails in one carl: line", async () => {
    const run = await carl("frobnicate")
    const first = assertOneLineFailure(run)
    assert.match(first, /frobnicate/)
    assert.equal(run.stdout, "")
  })

  test("--help exits 0 and lists the smoke command", async () => {
    const run = await carl("--help")
    assert.equal(run.status, 0, describeRun(run))
    assert.match(run.stdout, /carl smoke/)
    assert.match(run.stdout, /carl info/)
    assert.match(run.stdout, /--backend/)
    assert.equal(run.stderr, "")
  })
})
