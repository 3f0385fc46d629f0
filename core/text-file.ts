/**
 * Text input as users hand it over: a file or standard input ("-"), strictly UTF-8. A bad byte
 * is an error naming the file, line and byte offset, not a replacement character in the data.
 */
import { readFile } from "node:fs/promises"
import { Effect, Schema } from "effect"
import { writeFileAtomic } from "./atomic-file.ts"

export class TextFileError extends Schema.TaggedError<TextFileError>()("TextFileError", {
  file: Schema.String,
  problem: Schema.String
}) {
  override get message(): string {
    return `${this.file}: ${this.problem}`
  }
}

const STDIN = "-"

const displayName = (path: string) => (path === STDIN ? "standard input" : path)

const readAll = (path: string): Promise<Buffer> => {
  if (path !== STDIN) return readFile(path)
  return new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    process.stdin.on("data", (chunk: Buffer) => chunks.push(chunk))
    process.stdin.on("end", () => resolve(Buffer.concat(chunks)))
    process.stdin.on("error", reject)
  })
}

/** Where the first invalid UTF-8 sequence starts, for the error message. */
const firstInvalidByte = (bytes: Uint8Array): number => {
  let low = 0
  let high = bytes.length
  // The longest prefix that could begin a valid text, by bisection on whether it decodes in
  // streaming mode (which accepts a character cut off at the end).
  while (low < high) {
    const middle = Math.ceil((low + high) / 2)
    try {
      // A fresh decoder each time: a streaming one keeps the bytes of an unfinished character.
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, middle), { stream: true })
      low = middle
    } catch {
      high = middle - 1
    }
  }
  // If that prefix ends inside a character, the bad sequence starts at the character's first
  // byte: the longest prefix, at most 3 bytes shorter, that decodes whole.
  const whole = new TextDecoder("utf-8", { fatal: true })
  for (let start = low; start > Math.max(0, low - 4); start--) {
    try {
      whole.decode(bytes.subarray(0, start))
      return start
    } catch {
      // still inside the character
    }
  }
  return Math.max(0, low - 4)
}

/** Bytes already read, decoded strictly (a leading BOM dropped); `file` names them in the error. */
export const decodeUtf8 = (bytes: Uint8Array, file: string): Effect.Effect<string, TextFileError> =>
  Effect.try({
    try: () => new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes),
    catch: () => {
      const offset = firstInvalidByte(bytes)
      const line = bytes.subarray(0, offset).filter((byte) => byte === 0x0a).length + 1
      return new TextFileError({ file, problem: `line ${line}: invalid UTF-8 at byte ${offset}` })
    }
  })

export const readUtf8 = (path: string): Effect.Effect<string, TextFileError> =>
  Effect.tryPromise({
    try: () => readAll(path),
    catch: (error) =>
      new TextFileError({
        file: displayName(path),
        problem: `cannot read (${(error as NodeJS.ErrnoException).code ?? String(error)})`
      })
  }).pipe(Effect.flatMap((bytes) => decodeUtf8(bytes, displayName(path))))

/** One string per line; empty lines are kept, a final newline does not add one. */
export const readLines = (path: string): Effect.Effect<ReadonlyArray<string>, TextFileError> =>
  readUtf8(path).pipe(
    Effect.map((text) => {
      if (text.length === 0) return []
      const lines = text.split(/\r?\n/)
      if (lines.at(-1) === "") lines.pop()
      return lines
    })
  )

/** Writes the whole text to a file atomically, or to standard output for "-". */
export const writeText = (path: string, text: string): Effect.Effect<void, TextFileError> =>
  Effect.tryPromise({
    try: () =>
      path === STDIN
        ? new Promise<void>((resolve, reject) => process.stdout.write(text, (error) => (error ? reject(error) : resolve())))
        : writeFileAtomic(path, text),
    catch: (error) =>
      new TextFileError({
        file: path === STDIN ? "standard output" : path,
        problem: `cannot write (${(error as NodeJS.ErrnoException).code ?? String(error)})`
      })
  })
