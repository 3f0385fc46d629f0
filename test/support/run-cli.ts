/**
 * The bad-input suite's tools: the carl CLI run as a child process with a deadline, an Effect
 * program run in-process to the failure it must end in, the checks that either ends in one clear
 * line, and snapshots of a folder tree to prove a failed run wrote nothing. A case is usually one
 * call: expectCleanFailure (in process) or expectCleanCliFailure (the CLI).
 */
import assert from "node:assert/strict"
import { spawn } from "node:child_process"
import { lstat, mkdir, readdir, readlink, rm, symlink, writeFile } from "node:fs/promises"
import { dirname, join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import { Cause, Duration, Effect, Exit } from "effect"

export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url))

export interface CliRun {
  readonly args: ReadonlyArray<string>
  /** null when the process was killed (a hang past the deadline). */
  readonly status: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  readonly timedOut: boolean
  readonly seconds: number
}

export interface CliOptions {
  /** Kill the process (SIGKILL) after this long; the run then fails its checks as a hang. */
  readonly timeoutMs?: number
  readonly stdin?: string
  readonly cwd?: string
  readonly env?: Readonly<Record<string, string>>
}

/** `node --import tsx bin/carl.ts ...args`, offline, with a deadline. */
export const runCli = (args: ReadonlyArray<string>, options: CliOptions = {}): Promise<CliRun> =>
  new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(process.execPath, ["--import", "tsx", join(REPO_ROOT, "bin", "carl.ts"), ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      env: { ...process.env, NO_COLOR: "1", HF_HUB_OFFLINE: "1", ...options.env },
      stdio: ["pipe", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill("SIGKILL")
    }, options.timeoutMs ?? 60_000)
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    child.on("error", (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on("close", (status, signal) => {
      clearTimeout(timer)
      resolve({ args, status, signal, stdout, stderr, timedOut, seconds: (performance.now() - started) / 1000 })
    })
    child.stdin.end(options.stdin ?? "")
  })

const describeRun = (run: CliRun): string =>
  `carl ${run.args.join(" ")}\nexit ${run.status} (signal ${run.signal}${run.timedOut ? ", killed at the deadline" : ""}, ${run.seconds.toFixed(1)} s)` +
  `\n--- stdout\n${run.stdout.slice(0, 2000)}\n--- stderr\n${run.stderr.slice(0, 4000)}`

const nonEmptyLines = (text: string): Array<string> => text.split("\n").filter((line) => line.trim() !== "")

/** The hint yargs' usage errors add under their line. */
const HELP_HINT = "(see carl --help)"

// Lines only a crash prints: a stack frame, an uncaught error's dump, Node's source excerpt.
const CRASH_LINE = /^\s+at |^\s*(?:\w*Error|Error)(?: \[\w+\])?: |^\s*\^+\s*$|^node:internal|^Node\.js v\d+|Unhandled|FATAL ERROR/

/** What every message must be: one line, no control characters, naming each of `mentions`. */
export const assertOneClearLine = (line: string, mentions: ReadonlyArray<string | RegExp>, context: string): void => {
  assert.ok(!/[\u0000-\u001f\u007f]/.test(line), `the message holds a control character: ${JSON.stringify(line)}\n${context}`)
  assert.ok(line.length < 1200, `the message is ${line.length} characters long\n${context}`)
  for (const mention of mentions) {
    if (typeof mention === "string") assert.ok(line.includes(mention), `the message does not name ${JSON.stringify(mention)}: ${line}\n${context}`)
    else assert.match(line, mention, context)
  }
}

/**
 * A clean failure of the CLI: it ended by itself (no hang) with a non-zero exit, wrote nothing
 * that looks like a crash, and its stderr is one "carl: " line naming each of `mentions` (a usage
 * error may add yargs' "(see carl --help)"). Returns that line.
 */
export const assertCleanCliFailure = (run: CliRun, mentions: ReadonlyArray<string | RegExp>): string => {
  const context = describeRun(run)
  assert.ok(!run.timedOut, `a hang: killed at the deadline\n${context}`)
  assert.ok(run.status !== null && run.status !== 0, `expected a non-zero exit\n${context}`)
  for (const line of [...nonEmptyLines(run.stderr), ...nonEmptyLines(run.stdout)]) {
    assert.ok(!CRASH_LINE.test(line), `a crash line: ${line}\n${context}`)
  }
  const failures = nonEmptyLines(run.stderr).filter((line) => line.startsWith("carl: ") && !line.startsWith("carl: warning:") && !line.startsWith("carl: note:"))
  assert.equal(failures.length, 1, `expected exactly one "carl: " error line\n${context}`)
  const [line = ""] = failures
  const last = nonEmptyLines(run.stderr).at(-1)
  assert.ok(last === line || (last === HELP_HINT && nonEmptyLines(run.stderr).at(-2) === line), `the error is not the last thing on stderr\n${context}`)
  assertOneClearLine(line, mentions, context)
  return line
}

/** What a command program ended in: its error, checked to be a tagged failure and not a defect. */
export interface TaggedFailure {
  readonly tag: string
  readonly message: string
  readonly error: unknown
}

/**
 * Runs a command's Effect program in-process and checks that it fails as the CLI needs it to:
 * with a tagged error in the error channel (not a defect: a thrown exception, a bug), whose
 * message is one clear line naming each of `mentions`. `carl: ` + that message is what the CLI
 * prints for it (bin/carl.ts's runCommand).
 */
export const expectTaggedFailure = async <A, E>(
  program: Effect.Effect<A, E>,
  mentions: ReadonlyArray<string | RegExp>,
  options: { readonly timeoutMs?: number } = {}
): Promise<TaggedFailure> => {
  const timeoutMs = options.timeoutMs ?? 20_000
  const exit = await Effect.runPromiseExit(
    program.pipe(
      Effect.timeoutOrElse({ duration: Duration.millis(timeoutMs), orElse: () => Effect.die(new Error(`a hang: still running after ${timeoutMs} ms`)) })
    )
  )
  if (Exit.isSuccess(exit)) assert.fail(`expected a failure, the program succeeded with ${String(exit.value).slice(0, 200)}`)
  const pretty = Cause.pretty(exit.cause)
  assert.ok(!Cause.hasDies(exit.cause), `a defect (an exception, not a tagged error):\n${pretty}`)
  assert.ok(!Cause.hasInterrupts(exit.cause), `interrupted:\n${pretty}`)
  const error = Cause.squash(exit.cause)
  const tag = (error as { readonly _tag?: unknown })._tag
  assert.ok(typeof tag === "string" && tag.length > 0, `an untagged failure: ${String(error)}`)
  assert.ok(error instanceof Error, `the failure is not an Error: ${String(error)}`)
  assertOneClearLine(error.message, mentions, `${tag}: ${error.message}`)
  return { tag, message: error.message, error }
}

/** Every entry under `dir`: its kind and size (links: their target), not following symlinks. */
export const snapshotTree = async (dir: string): Promise<Map<string, string>> => {
  const entries = new Map<string, string>()
  const visit = async (path: string): Promise<void> => {
    const info = await lstat(path)
    const key = relative(dir, path) || "."
    if (info.isSymbolicLink()) entries.set(key, `link → ${await readlink(path)}`)
    else if (info.isDirectory()) {
      entries.set(key, "dir")
      for (const name of (await readdir(path)).sort()) await visit(join(path, name))
    } else entries.set(key, `file ${info.size} ${info.mtimeMs}`)
  }
  await visit(dir)
  return entries
}

/** The tree is as it was, except under `allowed` (relative paths; their contents are not compared). */
export const assertTreeUnchanged = (before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>, allowed: ReadonlyArray<string> = []): void => {
  const free = (path: string) => allowed.some((prefix) => path === prefix || path.startsWith(`${prefix}/`))
  const changes: Array<string> = []
  for (const [path, what] of after) {
    if (free(path)) continue
    const was = before.get(path)
    if (was === undefined) changes.push(`+ ${path} (${what})`)
    else if (was !== what) changes.push(`~ ${path} (${was} → ${what})`)
  }
  for (const path of before.keys()) if (!after.has(path) && !free(path)) changes.push(`- ${path}`)
  assert.deepEqual(changes, [], `the failed run changed files outside what it may write:\n${changes.join("\n")}`)
}

/**
 * A case in process: `program` ends in one tagged error naming each of `mentions`
 * (expectTaggedFailure), and `dir` is as it was before it ran.
 */
export const expectCleanFailure = async <A, E>(dir: string, program: Effect.Effect<A, E>, mentions: ReadonlyArray<string | RegExp>): Promise<TaggedFailure> => {
  const snapshot = await snapshotTree(dir)
  const failure = await expectTaggedFailure(program, mentions)
  assertTreeUnchanged(snapshot, await snapshotTree(dir))
  return failure
}

/**
 * A case through the CLI: `carl ...args` fails in one clear line naming each of `mentions`
 * (assertCleanCliFailure), and `dir` is as it was before it ran. Returns the run and that line.
 */
export const expectCleanCliFailure = async (
  dir: string,
  args: ReadonlyArray<string>,
  mentions: ReadonlyArray<string | RegExp>
): Promise<{ readonly run: CliRun; readonly line: string }> => {
  const snapshot = await snapshotTree(dir)
  const run = await runCli(args)
  const line = assertCleanCliFailure(run, mentions)
  assertTreeUnchanged(snapshot, await snapshotTree(dir))
  return { run, line }
}

/** A malformed input: bytes, or a path that is a folder, a symlink loop, or nothing. */
export type BadFile = string | Uint8Array | { readonly kind: "folder" | "symlink-loop" | "absent" }

export const FOLDER: BadFile = { kind: "folder" }
export const SYMLINK_LOOP: BadFile = { kind: "symlink-loop" }
export const ABSENT: BadFile = { kind: "absent" }

/** Puts `content` at `path`, replacing what is there (a symlink loop is two links pointing at each other). */
export const writeBadFile = async (path: string, content: BadFile): Promise<void> => {
  await rm(path, { recursive: true, force: true })
  await mkdir(dirname(path), { recursive: true })
  if (typeof content === "string" || content instanceof Uint8Array) await writeFile(path, content)
  else if (content.kind === "folder") await mkdir(path)
  else if (content.kind === "symlink-loop") {
    await rm(`${path}.loop`, { force: true })
    await symlink(`${path}.loop`, path)
    await symlink(path, `${path}.loop`)
  }
}

/** Deterministic bytes that are no format at all (every byte value, NULs and invalid UTF-8 included). */
export const binaryGarbage = (length = 4096, seed = 1): Buffer => {
  const bytes = Buffer.alloc(length)
  let state = seed >>> 0
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    bytes[i] = state >>> 24
  }
  return bytes
}

/** Text and raw bytes (invalid UTF-8, NULs) joined into one buffer. */
export const bytes = (...parts: ReadonlyArray<string | ReadonlyArray<number>>): Buffer =>
  Buffer.concat(parts.map((part) => (typeof part === "string" ? Buffer.from(part) : Buffer.from(part))))

/** 10 MB on one line, no line break anywhere. */
export const TEN_MB_LINE = "x".repeat(10 * 1024 * 1024)

/**
 * Starts `check` now and returns a function that waits for it: a spawned CLI case then runs on
 * the other core while the in-process cases run here, and its outcome (a failed assertion
 * included) is reported by the test that calls the function.
 */
export const startEarly = (check: () => Promise<void>): (() => Promise<void>) => {
  const settled = check().then(
    () => undefined,
    (error: unknown) => ({ error })
  )
  return async () => {
    const outcome = await settled
    if (outcome !== undefined) throw outcome.error
  }
}
