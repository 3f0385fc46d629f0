/**
 * A streaming tar reader: POSIX ustar headers (with the 155-byte prefix), GNU long names ('L')
 * and pax path/size records ('x'). It is fed the decompressed bytes chunk by chunk and calls its
 * visitor per entry; bodies the visitor does not want are skipped, never buffered, so an archive
 * of any size streams in constant memory. Nothing is ever written to disk, but an entry whose path
 * is absolute or climbs out with '..' is still reported: such an archive is not what it claims.
 */
const BLOCK = 512

export type TarEntryKind = "file" | "directory" | "other"

export interface TarHeader {
  readonly path: string
  readonly kind: TarEntryKind
  readonly size: number
  /** Byte offset of the entry's header in the uncompressed archive. */
  readonly offset: number
}

export interface TarProblem {
  readonly offset: number
  /** The entry at fault, or "" when the archive itself is. */
  readonly path: string
  readonly problem: string
}

export interface TarVisitor {
  /** Called for every entry: true to be given its body (files only), false to skip it, a string to stop with that problem. */
  readonly header: (header: TarHeader) => boolean | string
  /** The whole body of a wanted file. A string returned stops the reading with that problem. */
  readonly body: (header: TarHeader, body: Uint8Array) => string | undefined
}

export const escapesArchive = (path: string): boolean =>
  path.startsWith("/") || path.startsWith("\\") || /^[A-Za-z]:/.test(path) || path.split(/[/\\]/).includes("..")

const utf8 = new TextDecoder("utf-8")

const cString = (block: Uint8Array, start: number, length: number): string => {
  const field = block.subarray(start, start + length)
  const end = field.indexOf(0)
  return utf8.decode(end === -1 ? field : field.subarray(0, end))
}

/** An octal field, or GNU's base-256 (high bit set) for sizes past 8 GiB. */
const numberField = (block: Uint8Array, start: number, length: number): number | undefined => {
  const first = block[start] ?? 0
  if ((first & 0x80) !== 0) {
    let value = first & 0x7f
    for (let i = 1; i < length; i++) value = value * 256 + (block[start + i] ?? 0)
    return value
  }
  const text = cString(block, start, length).trim()
  if (text === "") return 0
  return /^[0-7]+$/.test(text) ? parseInt(text, 8) : undefined
}

const checksumMatches = (block: Uint8Array): boolean => {
  const stored = numberField(block, 148, 8)
  let sum = 0
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0)
  return stored === sum
}

/** pax extended header records: "<length> <key>=<value>\n", the length counting the whole record in bytes. */
const paxRecords = (body: Uint8Array): Map<string, string> => {
  const records = new Map<string, string>()
  let at = 0
  while (at < body.length) {
    const space = body.indexOf(0x20, at)
    if (space === -1) break
    const length = Number(utf8.decode(body.subarray(at, space)))
    if (!Number.isInteger(length) || length <= 0) break
    const record = utf8.decode(body.subarray(space + 1, at + length - 1))
    const equals = record.indexOf("=")
    if (equals !== -1) records.set(record.slice(0, equals), record.slice(equals + 1))
    at += length
  }
  return records
}

type Purpose = "entry" | "longName" | "pax" | "ignored"

type State =
  | { readonly kind: "header" }
  | {
      readonly kind: "body"
      readonly header: TarHeader
      readonly purpose: Purpose
      readonly parts: Array<Uint8Array> | undefined
      dataLeft: number
      padLeft: number
      delivered: boolean
    }
  | { readonly kind: "ended" }

export class TarReader {
  private readonly queue: Array<Uint8Array> = []
  private queued = 0
  private offset = 0
  private state: State = { kind: "header" }
  private longName: string | undefined
  private pax = new Map<string, string>()

  constructor(private readonly visitor: TarVisitor) {}

  /** Feeds the next bytes; a problem stops the reading (later pushes are not expected). */
  push(chunk: Uint8Array): TarProblem | undefined {
    if (chunk.length === 0) return undefined
    this.queue.push(chunk)
    this.queued += chunk.length
    for (;;) {
      const state = this.state
      if (state.kind === "ended") {
        // GNU tar pads the archive to its record size with zero blocks after the end marker.
        this.queue.length = 0
        this.queued = 0
        return undefined
      }
      if (state.kind === "header") {
        if (this.queued < BLOCK) return undefined
        const problem = this.readHeader(this.take(BLOCK))
        if (problem !== undefined) return problem
        continue
      }
      if (state.dataLeft > 0) {
        if (this.queued === 0) return undefined
        const piece = this.takeSome(state.dataLeft)
        state.dataLeft -= piece.length
        // A copy, so a kept body does not pin the whole decompressed chunk it came in.
        state.parts?.push(piece.slice())
        if (state.dataLeft > 0) return undefined
      }
      if (!state.delivered) {
        state.delivered = true
        const problem = this.finishBody(state.header, state.purpose, state.parts)
        if (problem !== undefined) return problem
      }
      if (state.padLeft > 0) {
        if (this.queued === 0) return undefined
        state.padLeft -= this.takeSome(state.padLeft).length
        if (state.padLeft > 0) return undefined
      }
      this.state = { kind: "header" }
    }
  }

  /** Called at the end of the stream: a problem if it stopped inside a header or a body. */
  finish(): TarProblem | undefined {
    if (this.state.kind === "ended" || (this.state.kind === "header" && this.queued === 0)) return undefined
    const path = this.state.kind === "body" ? this.state.header.path : ""
    return { offset: this.offset, path, problem: "the archive is truncated" }
  }

  private takeSome(max: number): Uint8Array {
    const head = this.queue[0] as Uint8Array
    const piece = head.length <= max ? head : head.subarray(0, max)
    if (piece === head) this.queue.shift()
    else this.queue[0] = head.subarray(max)
    this.queued -= piece.length
    this.offset += piece.length
    return piece
  }

  private take(length: number): Uint8Array {
    const out = new Uint8Array(length)
    let filled = 0
    while (filled < length) {
      const piece = this.takeSome(length - filled)
      out.set(piece, filled)
      filled += piece.length
    }
    return out
  }

  private readHeader(block: Uint8Array): TarProblem | undefined {
    const offset = this.offset - BLOCK
    if (block.every((byte) => byte === 0)) {
      this.state = { kind: "ended" }
      return undefined
    }
    if (!checksumMatches(block)) return { offset, path: "", problem: "header checksum mismatch (not a tar archive, or corrupt)" }
    const name = cString(block, 0, 100)
    const type = String.fromCharCode(block[156] ?? 0)
    const posix = cString(block, 257, 6) === "ustar" && cString(block, 263, 2) === "00"
    // The prefix field exists in POSIX ustar only; old GNU headers keep other data there.
    const prefix = posix ? cString(block, 345, 155) : ""
    const headerSize = numberField(block, 124, 12)
    if (headerSize === undefined) return { offset, path: name, problem: "bad size field" }

    const purpose: Purpose = type === "L" ? "longName" : type === "x" ? "pax" : type === "K" || type === "g" ? "ignored" : "entry"
    if (purpose !== "entry") {
      this.state = this.bodyState({ path: name, kind: "other", size: headerSize, offset }, purpose, purpose !== "ignored")
      return undefined
    }
    const paxSize = this.pax.get("size")
    const size = paxSize !== undefined && /^\d+$/.test(paxSize) ? Number(paxSize) : headerSize
    const path = this.longName ?? this.pax.get("path") ?? (prefix === "" ? name : `${prefix}/${name}`)
    this.longName = undefined
    this.pax = new Map()
    if (escapesArchive(path)) return { offset, path, problem: "the path is absolute or climbs out with '..'" }
    const kind: TarEntryKind = type === "0" || type === "\0" || type === "7" ? "file" : type === "5" ? "directory" : "other"
    // Links, devices, FIFOs and directories have no data blocks whatever their size field says.
    const header: TarHeader = { path, kind, size: "123456".includes(type) ? 0 : size, offset }
    const verdict = this.visitor.header(header)
    if (typeof verdict === "string") return { offset, path, problem: verdict }
    this.state = this.bodyState(header, "entry", verdict && kind === "file")
    return undefined
  }

  private bodyState(header: TarHeader, purpose: Purpose, collect: boolean): State {
    const padding = Math.ceil(header.size / BLOCK) * BLOCK - header.size
    return { kind: "body", header, purpose, parts: collect ? [] : undefined, dataLeft: header.size, padLeft: padding, delivered: false }
  }

  private finishBody(header: TarHeader, purpose: Purpose, parts: Array<Uint8Array> | undefined): TarProblem | undefined {
    if (parts === undefined) return undefined
    const body = parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts)
    if (purpose === "longName") {
      const end = body.indexOf(0)
      this.longName = utf8.decode(end === -1 ? body : body.subarray(0, end))
      return undefined
    }
    if (purpose === "pax") {
      for (const [key, value] of paxRecords(body)) this.pax.set(key, value)
      return undefined
    }
    const problem = this.visitor.body(header, body)
    return problem === undefined ? undefined : { offset: header.offset, path: header.path, problem }
  }
}
