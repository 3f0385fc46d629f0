/**
 * The carl command. Commands that train or embed at scale (predict, train, eval, fit-head, serve,
 * bench, embed) run in a child process that this one watches, so that even the one failure a
 * process cannot report itself ends in one `carl:` line: V8 stopping the process when its JavaScript heap is full. The child's
 * standard error passes through unchanged until V8's report of that begins; standard input and
 * output are the child's own. SIGINT, SIGTERM and SIGHUP are passed on; if this process is killed
 * outright, the child notices its parent is gone and stops too (bin/cli.ts).
 */
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { getHeapStatistics } from "node:v8"

const MEGABYTE = 1048576
const COMMANDS = new Set(["predict", "train", "eval", "fit-head", "serve", "bench", "embed", "smoke", "info", "data"])
const WATCHED = new Set(["predict", "train", "eval", "fit-head", "serve", "bench", "embed"])

/** The command: the first argument that names one (an option's value could only rarely be one). */
const commandOf = (args: ReadonlyArray<string>): string | undefined => args.find((arg) => COMMANDS.has(arg))

/** Where V8's report of a full heap begins (the first marker seen), in the text it writes to stderr. */
const V8_HEAP_REPORT = ["<--- Last few GCs --->", "FATAL ERROR: Reached heap limit", "FATAL ERROR: Ineffective mark-compacts", "JavaScript heap out of memory"]

/** "; the last checkpoint, …, is intact" for a train run whose --out has one. */
const checkpointNote = (args: ReadonlyArray<string>): string => {
  const at = args.findIndex((arg) => arg === "--out" || arg.startsWith("--out="))
  const flag = at < 0 ? "" : (args[at] ?? "")
  const out = at < 0 ? undefined : flag.includes("=") ? flag.slice("--out=".length) : args[at + 1]
  if (out === undefined) return ""
  try {
    const latest = readFileSync(join(out, "checkpoints", "latest"), "utf8").trim()
    return `; the last checkpoint, ${join(out, "checkpoints", latest)}, is intact (continue with --resume)`
  } catch {
    return "; no checkpoint had been written yet"
  }
}

const supervise = (args: ReadonlyArray<string>, command: string): void => {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(new URL("./cli.ts", import.meta.url)), ...args], {
    env: { ...process.env, CARL_SUPERVISED: "1" },
    stdio: ["inherit", "inherit", "pipe", "ipc"]
  })
  let heapFull = false
  let tail = ""
  child.stderr?.on("data", (chunk: Buffer) => {
    if (heapFull) return
    const text = chunk.toString("utf8")
    const seen = tail + text
    const starts = V8_HEAP_REPORT.map((marker) => seen.indexOf(marker)).filter((index) => index >= 0)
    if (starts.length === 0) {
      process.stderr.write(chunk)
      tail = seen.slice(-64)
      return
    }
    heapFull = true
    const before = text.slice(0, Math.max(0, Math.min(...starts) - tail.length)).trimEnd()
    if (before !== "") process.stderr.write(`${before}\n`)
  })
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      if (child.exitCode === null) child.kill(signal)
    })
  }
  child.on("exit", (code, signal) => {
    if (heapFull) {
      const limit = Math.round(getHeapStatistics().heap_size_limit / MEGABYTE)
      process.stderr.write(
        `carl: out of memory: the Node.js heap reached its limit (about ${limit} MB) during carl ${command}; ` +
          `give it more with NODE_OPTIONS=--max-old-space-size=<MB>, or use less data at once${command === "train" ? checkpointNote(args) : ""}\n`
      )
      process.exitCode = 1
    } else if (signal === "SIGKILL") {
      process.stderr.write(
        `carl: killed (SIGKILL) during carl ${command}, most likely by the system when memory ran out; ` +
          `try a smaller --batch-size or --micro-batch${command === "train" ? checkpointNote(args) : ""}\n`
      )
      process.exitCode = 137
    } else process.exitCode = code ?? 128 + (signal === "SIGINT" ? 2 : signal === "SIGTERM" ? 15 : 1)
  })
}

const args = process.argv.slice(2)
const command = commandOf(args)
const runHere = process.env["CARL_SUPERVISED"] === "1" || command === undefined || !WATCHED.has(command)
if (runHere) {
  await import("./cli.ts")
} else {
  supervise(args, command)
}
