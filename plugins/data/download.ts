/**
 * One URL into one local file, shared by the model hub and the dataset fetcher. The bytes go to
 * `<destination>.incomplete` (a previous run's partial file is continued with a Range request),
 * are checked against the size the caller pins or the server announces and, when given, a sha256,
 * and only then renamed into place, so the destination is either absent or complete.
 *
 * Failures are a `DownloadError` whose `problem` keeps the facts (kind, URL, reason, byte counts)
 * rather than a finished sentence: each caller words the one line its users see and says what to
 * do about it in its own terms (HF_HUB_OFFLINE for models, a manual download for datasets).
 */
import { createHash } from "node:crypto"
import { createReadStream, createWriteStream } from "node:fs"
import { mkdir, rename, rm, stat } from "node:fs/promises"
import * as http from "node:http"
import * as https from "node:https"
import { dirname } from "node:path"
import { pipeline } from "node:stream/promises"
import { Data, Effect } from "effect"

const MAX_REDIRECTS = 10
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308])
const USER_AGENT = `carl/0.1.0; node/${process.versions.node}`
const TIMEOUT_CODE = "CARL_DOWNLOAD_TIMEOUT"

export interface DownloadRequest {
  readonly url: string
  /** The complete file. Its folder is created; the bytes collect in `<destination>.incomplete`. */
  readonly destination: string
  /** How long the connection may stay silent: connecting, waiting for headers, between body chunks. */
  readonly timeoutMs: number
  readonly headers?: Readonly<Record<string, string>>
  /** Sent to the first origin only (a token): dropped as soon as a redirect leaves it. */
  readonly privateHeaders?: Readonly<Record<string, string>>
  /** A response header announcing the file's size that wins over Content-Length (the hub's x-linked-size on its redirect). */
  readonly sizeHeader?: string
  /** The size the file must have; a server announcing another one is refused before its body is read. */
  readonly size?: number
  /** Hex sha256 the complete file must have. */
  readonly sha256?: string
}

export interface Downloaded {
  readonly path: string
  /** The URL the bytes finally came from, after redirects. */
  readonly url: string
  readonly bytes: number
  /** Bytes that were already in the partial file and not requested again. */
  readonly resumedFrom: number
}

/** Where a size came from, for messages that say why a size was expected. */
export type SizeSource = "pinned" | "Content-Range" | "Content-Length" | (string & {})

export type DownloadProblem =
  /** No response at all; `hop` 0 is the requested URL, later hops are redirect targets. */
  | { readonly kind: "unreachable"; readonly url: string; readonly hop: number; readonly reason: string }
  /** The final response's status was not 200/206 (its body is discarded). */
  | { readonly kind: "status"; readonly url: string; readonly status: number }
  | { readonly kind: "redirects"; readonly url: string; readonly limit: number }
  /** A 206 answering a request for the whole file. */
  | { readonly kind: "badRange"; readonly url: string; readonly contentRange: string }
  /** The server announced a size other than the pinned one; nothing was read. */
  | { readonly kind: "announced"; readonly url: string; readonly announced: number; readonly source: SizeSource; readonly expected: number }
  /** The body broke off; the partial file is kept for the next run. */
  | { readonly kind: "stopped"; readonly url: string; readonly got: number; readonly expected: number | undefined; readonly reason: string; readonly partial: string }
  /** The body ended at the wrong length; `kept` when the partial file is short and can be continued. */
  | { readonly kind: "size"; readonly url: string; readonly got: number; readonly expected: number; readonly source: SizeSource; readonly partial: string; readonly kept: boolean }
  /** Complete but not the pinned bytes; the download was removed. */
  | { readonly kind: "sha256"; readonly url: string; readonly actual: string; readonly expected: string }
  | { readonly kind: "write"; readonly path: string; readonly reason: string }

const describeProblem = (problem: DownloadProblem): string => {
  switch (problem.kind) {
    case "unreachable":
      return `cannot reach ${new URL(problem.url).host}: ${problem.reason}`
    case "status":
      return `HTTP ${problem.status} from ${problem.url}`
    case "redirects":
      return `more than ${problem.limit} redirects from ${problem.url}`
    case "badRange":
      return `HTTP 206 from ${problem.url} with Content-Range '${problem.contentRange}' for a request of the whole file`
    case "announced":
      return `${problem.url} announces ${problem.announced} bytes (${problem.source}), expected ${problem.expected}`
    case "stopped":
      return `download from ${problem.url} stopped after ${problem.got} of ${problem.expected ?? "?"} bytes (${problem.reason})`
    case "size":
      return `received ${problem.got} bytes from ${problem.url}, expected ${problem.expected} (${problem.source})`
    case "sha256":
      return `sha256 of ${problem.url} is ${problem.actual}, expected ${problem.expected}`
    case "write":
      return `cannot write ${problem.path}: ${problem.reason}`
  }
}

export class DownloadError extends Data.TaggedError("DownloadError")<{ readonly problem: DownloadProblem }> {
  override get message(): string {
    return describeProblem(this.problem)
  }
}

const firstLine = (error: unknown): string => String(error instanceof Error ? error.message : error).split("\n")[0] ?? ""

/** A short reason for a network or file-system error: "connection refused", "no response for 30s", "ENOSPC". */
export const reasonOf = (error: unknown, timeoutMs: number): string => {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  switch (code) {
    case "ECONNREFUSED":
      return "connection refused"
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "DNS lookup failed"
    case "ETIMEDOUT":
    case TIMEOUT_CODE:
      return `no response for ${timeoutMs / 1000}s`
    case "ECONNRESET":
      return "connection reset"
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return "network unreachable"
    default:
      return code ?? firstLine(error)
  }
}

export const fileSize = (path: string): Effect.Effect<number | undefined> =>
  Effect.promise(() =>
    stat(path).then(
      (stats) => (stats.isFile() ? stats.size : undefined),
      () => undefined
    )
  )

export const removeQuietly = (path: string): Effect.Effect<void> => Effect.promise(() => rm(path, { force: true }).catch(() => undefined))

export const sha256Of = (path: string): Effect.Effect<string, DownloadError> =>
  Effect.tryPromise({
    try: async (signal) => {
      const hash = createHash("sha256")
      await pipeline(createReadStream(path), hash, { signal })
      return hash.digest("hex")
    },
    catch: (error) => new DownloadError({ problem: { kind: "write", path, reason: `cannot read it back (${reasonOf(error, 0)})` } })
  })

const headerInteger = (value: string | Array<string> | undefined): number | undefined => {
  const text = Array.isArray(value) ? value[0] : value
  if (text === undefined || !/^\d+$/.test(text.trim())) return undefined
  return Number(text)
}

/** `bytes 100-199/1000` → { start: 100, total: 1000 }; the total may be `*`. */
const parseContentRange = (value: string | undefined): { start: number; total: number | undefined } | undefined => {
  const match = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(value?.trim() ?? "")
  if (match === null || match[1] === undefined || match[2] === undefined) return undefined
  return { start: Number(match[1]), total: match[2] === "*" ? undefined : Number(match[2]) }
}

/** A request that got no response at all, and why ("connection refused"). */
class NoResponse extends Data.TaggedError("NoResponse")<{ readonly reason: string }> {}

/** A GET whose failure before any response arrives is a NoResponse. */
const get = (url: URL, headers: Readonly<Record<string, string>>, timeoutMs: number): Effect.Effect<http.IncomingMessage, NoResponse> =>
  Effect.callback<http.IncomingMessage, NoResponse>((resume, signal) => {
    const client = url.protocol === "https:" ? https : http
    let request: http.ClientRequest
    let received: http.IncomingMessage | undefined
    try {
      request = client.get(url, { headers, signal, timeout: timeoutMs }, (response) => {
        received = response
        resume(Effect.succeed(response))
      })
    } catch (error) {
      resume(Effect.fail(new NoResponse({ reason: reasonOf(error, timeoutMs) })))
      return
    }
    // `timeout` covers connecting and every silence after, including between body chunks; the
    // response is failed first so that a stalled body reports the timeout, not "connection reset".
    request.on("timeout", () => {
      const timedOut = Object.assign(new Error("timed out"), { code: TIMEOUT_CODE })
      received?.destroy(timedOut)
      request.destroy(timedOut)
    })
    // Stays attached after the response: a late socket error must not become an uncaught exception.
    request.on("error", (error) => resume(Effect.fail(new NoResponse({ reason: reasonOf(error, timeoutMs) }))))
  })

const fail = (problem: DownloadProblem) => Effect.fail(new DownloadError({ problem }))

/**
 * Follows redirects itself: the hub answers an LFS file with a redirect to its CDN that carries
 * the file's size in `x-linked-size`, which an automatic redirect would hide.
 */
const openResponse = Effect.fn("openResponse")(function* (request: DownloadRequest, rangeStart: number) {
  let url = new URL(request.url)
  const headers: Record<string, string> = {
    "accept-encoding": "identity",
    "user-agent": USER_AGENT,
    ...request.headers,
    ...request.privateHeaders
  }
  if (rangeStart > 0) headers["range"] = `bytes=${rangeStart}-`
  let announcedByHeader: number | undefined
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const at = url
    const response = yield* get(at, headers, request.timeoutMs).pipe(
      Effect.mapError(({ reason }) => new DownloadError({ problem: { kind: "unreachable", url: at.href, hop, reason } }))
    )
    if (request.sizeHeader !== undefined) announcedByHeader ??= headerInteger(response.headers[request.sizeHeader.toLowerCase()])
    const location = response.headers.location
    if (!REDIRECT_STATUSES.has(response.statusCode ?? 0) || location === undefined) {
      return { response, url, announcedByHeader }
    }
    response.resume()
    const next = new URL(location, url)
    // Signed CDN links need no token, and a token must not leak to another host.
    if (next.origin !== url.origin) for (const name of Object.keys(request.privateHeaders ?? {})) delete headers[name]
    url = next
  }
  return yield* fail({ kind: "redirects", url: request.url, limit: MAX_REDIRECTS })
})

const moveIntoPlace = (partial: string, destination: string) =>
  Effect.tryPromise({
    try: () => rename(partial, destination),
    catch: (error) => new DownloadError({ problem: { kind: "write", path: destination, reason: reasonOf(error, 0) } })
  })

/** Checks the complete partial file's sha256 (removing it when wrong) and renames it into place. */
const finish = (request: DownloadRequest, partial: string, url: string) =>
  Effect.gen(function* () {
    if (request.sha256 !== undefined) {
      const actual = yield* sha256Of(partial)
      if (actual !== request.sha256.toLowerCase()) {
        yield* removeQuietly(partial)
        return yield* fail({ kind: "sha256", url, actual, expected: request.sha256.toLowerCase() })
      }
    }
    yield* moveIntoPlace(partial, request.destination)
  })

const transfer = (request: DownloadRequest, partial: string): Effect.Effect<Downloaded, DownloadError> =>
  Effect.gen(function* () {
    let start = (yield* fileSize(partial)) ?? 0
    if (request.size !== undefined && start > request.size) {
      yield* removeQuietly(partial)
      start = 0
    }
    if (request.size !== undefined && start === request.size && start > 0) {
      // Killed after the last byte but before the rename: nothing left to ask the server for.
      const whole = request.sha256 === undefined || (yield* sha256Of(partial)) === request.sha256.toLowerCase()
      if (whole) {
        yield* moveIntoPlace(partial, request.destination)
        return { path: request.destination, url: request.url, bytes: start, resumedFrom: start }
      }
      yield* removeQuietly(partial)
      start = 0
    }
    const { response, url, announcedByHeader } = yield* openResponse(request, start)
    const status = response.statusCode ?? 0
    if (status !== 200 && status !== 206) response.resume()
    if (status === 416 && start > 0) {
      // The partial file is not a prefix the server can continue (the file changed, or it is already too long).
      yield* removeQuietly(partial)
      return yield* transfer(request, partial)
    }
    if (status !== 200 && status !== 206) return yield* fail({ kind: "status", url: url.href, status })

    let offset = 0
    let announced: { size: number; source: SizeSource } | undefined
    const contentLength = headerInteger(response.headers["content-length"])
    if (status === 206) {
      const range = parseContentRange(response.headers["content-range"])
      if (range === undefined || range.start !== start) {
        response.resume()
        if (start === 0) return yield* fail({ kind: "badRange", url: url.href, contentRange: response.headers["content-range"] ?? "" })
        // Not the continuation asked for: start over rather than splice the wrong bytes.
        yield* removeQuietly(partial)
        return yield* transfer(request, partial)
      }
      offset = start
      const total = range.total ?? (contentLength === undefined ? undefined : start + contentLength)
      if (total !== undefined) announced = { size: total, source: "Content-Range" }
    } else if (contentLength !== undefined) {
      announced = { size: contentLength, source: "Content-Length" }
    }
    if (announcedByHeader !== undefined) announced = { size: announcedByHeader, source: request.sizeHeader ?? "" }
    if (request.size !== undefined && announced !== undefined && announced.size !== request.size) {
      response.destroy()
      return yield* fail({ kind: "announced", url: url.href, announced: announced.size, source: announced.source, expected: request.size })
    }
    const expected = request.size !== undefined ? { size: request.size, source: "pinned" } : announced

    yield* Effect.tryPromise({
      try: (signal) => pipeline(response, createWriteStream(partial, { flags: offset > 0 ? "a" : "w" }), { signal }),
      catch: (error) => error
    }).pipe(
      Effect.catch((error) =>
        Effect.gen(function* () {
          const got = (yield* fileSize(partial)) ?? 0
          return yield* fail({ kind: "stopped", url: url.href, got, expected: expected?.size, reason: reasonOf(error, request.timeoutMs), partial })
        })
      )
    )

    const got = (yield* fileSize(partial)) ?? 0
    if (expected !== undefined && got !== expected.size) {
      const kept = got < expected.size
      if (!kept) yield* removeQuietly(partial)
      return yield* fail({ kind: "size", url: url.href, got, expected: expected.size, source: expected.source, partial, kept })
    }
    yield* finish(request, partial, url.href)
    return { path: request.destination, url: url.href, bytes: got, resumedFrom: offset }
  })

/** Downloads `request.url` to `request.destination`, continuing `<destination>.incomplete` if a previous run left one. */
export const downloadToFile = (request: DownloadRequest): Effect.Effect<Downloaded, DownloadError> =>
  Effect.gen(function* () {
    const folder = dirname(request.destination)
    yield* Effect.tryPromise({
      try: () => mkdir(folder, { recursive: true }),
      catch: (error) => new DownloadError({ problem: { kind: "write", path: folder, reason: reasonOf(error, 0) } })
    })
    return yield* transfer(request, partialPath(request.destination))
  })

export const partialPath = (destination: string): string => `${destination}.incomplete`
