/**
 * Reading a corpus file's text. UTF-8 goes through core's strict readUtf8; when that finds a bad
 * byte, the file is decoded again with each bad byte kept as a marker, so the CSV/JSONL readers can
 * say which row and field hold it (and skip just that row under `skipBadRows`).
 */
import { readFile } from "node:fs/promises"
import { Effect } from "effect"
import { readUtf8 } from "../../core/text-file.ts"
import { DataError, fromTextFileError } from "./data-error.ts"

const cannotRead = (file: string, error: unknown) =>
  new DataError({ file, line: 0, field: "", problem: `cannot read (${(error as NodeJS.ErrnoException).code ?? String(error)})` })

export const readBytes = (file: string): Effect.Effect<Buffer, DataError> =>
  Effect.tryPromise({ try: () => readFile(file), catch: (error) => cannotRead(file, error) })

// A byte b that is not part of valid UTF-8 becomes the lone surrogate U+DC00+b (Python's
// "surrogateescape"). Valid UTF-8 never decodes to a lone surrogate, so a marker cannot be data.
const MARKER = /[\uDC80-\uDCFF]+/u

/**
 * UTF-8 sequences never contain ASCII bytes, so every maximal run of bytes ≥ 0x80 is either a
 * sequence of whole characters or invalid on its own: each run is decoded (or marked) alone.
 */
const decodeMarkingInvalid = (bytes: Uint8Array): string => {
  const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })
  const start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0
  const parts: Array<string> = []
  let i = start
  while (i < bytes.length) {
    let j = i
    while (j < bytes.length && (bytes[j] ?? 0) < 0x80) j++
    if (j > i) parts.push(Buffer.from(bytes.buffer, bytes.byteOffset + i, j - i).toString("latin1"))
    i = j
    while (j < bytes.length && (bytes[j] ?? 0) >= 0x80) j++
    if (j > i) {
      const run = bytes.subarray(i, j)
      try {
        parts.push(strict.decode(run))
      } catch {
        parts.push(Array.from(run, (byte) => String.fromCharCode(0xdc00 + byte)).join(""))
      }
    }
    i = j
  }
  return parts.join("")
}

/** The invalid bytes a decoded value contains, as hex ("ff fe"), or undefined if it has none. */
export const invalidBytesIn = (value: string): string | undefined => {
  const match = MARKER.exec(value)
  if (match === null) return undefined
  return Array.from(match[0], (char) => ((char.codePointAt(0) ?? 0) - 0xdc00).toString(16).padStart(2, "0")).join(" ")
}

/** A UTF-8 corpus file, its BOM dropped; invalid bytes come back marked (see `invalidBytesIn`). */
export const readSourceText = (file: string): Effect.Effect<string, DataError> =>
  readUtf8(file).pipe(
    Effect.catchTag("TextFileError", (error) =>
      error.problem.includes("invalid UTF-8")
        ? readBytes(file).pipe(Effect.map(decodeMarkingInvalid))
        : Effect.fail(fromTextFileError(error))
    )
  )

/**
 * The published text files hold no NUL byte; one means binary data (a wrong or damaged file),
 * which Latin-1, where every byte is a character, would otherwise read as sentences.
 */
const refuseNul = (file: string, text: string): Effect.Effect<string, DataError> => {
  const at = text.indexOf("\u0000")
  if (at === -1) return Effect.succeed(text)
  const line = text.slice(0, at).split("\n").length
  return Effect.fail(new DataError({ file, line, field: "", problem: "a NUL byte: binary data, not text" }))
}

/** Strict UTF-8 (core's readUtf8), for the published evaluation files. */
export const readUtf8Text = (file: string): Effect.Effect<string, DataError> =>
  readUtf8(file).pipe(
    Effect.mapError(fromTextFileError),
    Effect.flatMap((text) => refuseNul(file, text))
  )

/**
 * Latin-1, byte for byte (Node's "latin1", not WHATWG's, which TextDecoder maps to windows-1252):
 * what SentEval's `io.open(..., encoding='latin-1')` gives for MR.
 */
export const readLatin1Text = (file: string): Effect.Effect<string, DataError> =>
  readBytes(file).pipe(Effect.flatMap((bytes) => refuseNul(file, bytes.toString("latin1"))))

/**
 * Lines split on LF only, a CR before it dropped. Latin-1 MR holds 0x85 (NEL), on which Python's
 * str.splitlines() would also break; the published counts (5,331 lines per file) count LF only.
 */
export const splitLines = (text: string): Array<string> => {
  if (text.length === 0) return []
  const lines = text.split("\n").map((line) => (line.endsWith("\r") ? line.slice(0, -1) : line))
  if (lines.at(-1) === "") lines.pop()
  return lines
}
