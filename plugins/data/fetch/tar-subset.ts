/**
 * A smaller tar.gz from some entries of a tar.gz, streamed: the published archive goes through
 * node:zlib and plugins/data's TarReader, the kept files are written as POSIX ustar entries (with
 * their parent folders) into a new gzip stream. Only one entry's body is held at a time.
 *
 * The entries get fixed owner, mode and time, so the same input always gives the same tar bytes;
 * only what the readers use — the paths and the contents — comes from the input.
 */
import { randomBytes } from "node:crypto"
import { createReadStream, createWriteStream } from "node:fs"
import { rename, rm } from "node:fs/promises"
import { Transform, type TransformCallback } from "node:stream"
import { pipeline } from "node:stream/promises"
import { createGunzip, createGzip } from "node:zlib"
import { Data, Effect } from "effect"
import { TarReader, type TarProblem } from "../tar.ts"

const BLOCK = 512
// The date of the 2011 release; any fixed value would do.
const MTIME = Date.UTC(2011, 5, 1) / 1000
const MAX_OCTAL_SIZE = 8 ** 11 - 1

/** `"name"` alone, or split into ustar's 155-byte prefix and 100-byte name at a '/'. */
const ustarName = (path: string): { prefix: string; name: string } | undefined => {
  if (Buffer.byteLength(path) <= 100) return { prefix: "", name: path }
  for (let slash = path.indexOf("/"); slash !== -1; slash = path.indexOf("/", slash + 1)) {
    const prefix = path.slice(0, slash)
    const name = path.slice(slash + 1)
    if (Buffer.byteLength(prefix) <= 155 && name !== "" && Buffer.byteLength(name) <= 100) return { prefix, name }
  }
  return undefined
}

const octal = (value: number, width: number): string => `${value.toString(8).padStart(width - 1, "0")}\0`

/** A ustar header block, or a problem when the entry cannot be described in one. */
const ustarHeader = (path: string, size: number, type: "0" | "5"): Buffer | string => {
  const split = ustarName(path)
  if (split === undefined) return `the path is too long for a ustar header (${Buffer.byteLength(path)} bytes)`
  if (size > MAX_OCTAL_SIZE) return `${size} bytes is too large for a ustar header`
  const block = Buffer.alloc(BLOCK)
  block.write(split.name, 0, 100, "utf8")
  block.write(octal(type === "5" ? 0o755 : 0o644, 8), 100, "ascii")
  block.write(octal(0, 8), 108, "ascii")
  block.write(octal(0, 8), 116, "ascii")
  block.write(octal(size, 12), 124, "ascii")
  block.write(octal(MTIME, 12), 136, "ascii")
  block.write(" ".repeat(8), 148, "ascii")
  block.write(type, 156, "ascii")
  block.write("ustar\0", 257, "ascii")
  block.write("00", 263, "ascii")
  block.write(split.prefix, 345, 155, "utf8")
  let sum = 0
  for (const byte of block) sum += byte
  block.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "ascii")
  return block
}

class SubsetFailure extends Error {}

const describeProblem = (problem: TarProblem): string =>
  `${problem.path === "" ? "" : `entry ${JSON.stringify(problem.path)}: `}${problem.problem} (tar offset ${problem.offset})`

/** The tar stream of the kept entries, fed the decompressed input. */
class SubsetTransform extends Transform {
  files = 0
  private readonly folders = new Set<string>()
  private readonly reader: TarReader
  private output: Array<Uint8Array> = []

  constructor(keep: (path: string) => boolean) {
    super()
    this.reader = new TarReader({
      header: (header) => header.kind === "file" && keep(header.path),
      body: (header, body) => this.add(header.path, body)
    })
  }

  private add(path: string, body: Uint8Array): string | undefined {
    const parts = path.split("/")
    for (let depth = 1; depth < parts.length; depth++) {
      const folder = `${parts.slice(0, depth).join("/")}/`
      if (this.folders.has(folder)) continue
      const header = ustarHeader(folder, 0, "5")
      if (typeof header === "string") return header
      this.folders.add(folder)
      this.output.push(header)
    }
    const header = ustarHeader(path, body.length, "0")
    if (typeof header === "string") return header
    this.output.push(header, body, Buffer.alloc((BLOCK - (body.length % BLOCK)) % BLOCK))
    this.files++
    return undefined
  }

  private release(): void {
    if (this.output.length > 0) this.push(Buffer.concat(this.output))
    this.output = []
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const problem = this.reader.push(chunk)
    if (problem !== undefined) return callback(new SubsetFailure(describeProblem(problem)))
    this.release()
    callback()
  }

  override _flush(callback: TransformCallback): void {
    const problem = this.reader.finish()
    if (problem !== undefined) return callback(new SubsetFailure(describeProblem(problem)))
    this.release()
    // The end-of-archive marker: two zero blocks.
    this.push(Buffer.alloc(2 * BLOCK))
    callback()
  }
}

const reasonOf = (error: unknown): string => {
  if (error instanceof SubsetFailure) return error.message
  const { code, message } = error as NodeJS.ErrnoException
  // zlib's codes (Z_DATA_ERROR, Z_BUF_ERROR) mean the bytes, not the file system, are at fault.
  if (code?.startsWith("Z_") === true) return `not a valid gzip stream (${message})`
  return code ?? String(error)
}

/** A subset that could not be written, and why in one phrase. */
export class TarSubsetError extends Data.TaggedError("TarSubsetError")<{ readonly reason: string }> {}

/**
 * Writes the files of `archive` whose path `keep` accepts to `destination` (a .tar.gz), atomically,
 * and only if there are `expectedFiles` of them.
 */
export const writeTarSubset = (
  archive: string,
  destination: string,
  keep: (path: string) => boolean,
  expectedFiles: number
): Effect.Effect<void, TarSubsetError> =>
  Effect.tryPromise({
    try: async (signal) => {
      const temporary = `${destination}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`
      const subset = new SubsetTransform(keep)
      try {
        await pipeline(createReadStream(archive), createGunzip(), subset, createGzip(), createWriteStream(temporary), { signal })
        if (subset.files !== expectedFiles) throw new SubsetFailure(`${subset.files} entries selected, expected ${expectedFiles}`)
        await rename(temporary, destination)
      } catch (error) {
        await rm(temporary, { force: true })
        throw error
      }
    },
    catch: (error) => new TarSubsetError({ reason: reasonOf(error) })
  })
