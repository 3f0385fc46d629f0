/**
 * One file from the hub into the cache: taken from the cache when it is there, otherwise fetched
 * into `<file>.incomplete` (resumed with a Range request when a previous run left one), checked
 * against the size the hub announces, and renamed into place only when complete.
 */
import { createWriteStream } from "node:fs"
import { mkdir, rename, rm, stat, writeFile } from "node:fs/promises"
import * as http from "node:http"
import * as https from "node:https"
import { dirname, join } from "node:path"
import { pipeline } from "node:stream/promises"
import { Effect } from "effect"
import { HubError } from "./hub-error.ts"
import { checkRepoAndRevision, fileUrl, hubSettings, noExistMarker, snapshotDir, type HubOptions, type HubSettings } from "./hub-settings.ts"

const MAX_REDIRECTS = 10
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308])
const USER_AGENT = `carl/0.1.0; node/${process.versions.node}`

interface Target {
  readonly repo: string
  readonly file: string
  readonly url: string
}

const firstLine = (error: unknown): string => String(error instanceof Error ? error.message : error).split("\n")[0] ?? ""

const TIMEOUT_CODE = "CARL_HUB_TIMEOUT"

const reasonOf = (error: unknown, timeoutMs: number): string => {
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

const sizeOf = (path: string): Effect.Effect<number | undefined> =>
  Effect.promise(() =>
    stat(path).then(
      (stats) => (stats.isFile() ? stats.size : undefined),
      () => undefined
    )
  )

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

/** A GET whose failure before any response arrives is a reason string ("connection refused"). */
const get = (url: URL, headers: Readonly<Record<string, string>>, timeoutMs: number): Effect.Effect<http.IncomingMessage, string> =>
  Effect.callback<http.IncomingMessage, string>((resume, signal) => {
    const client = url.protocol === "https:" ? https : http
    let request: http.ClientRequest
    let received: http.IncomingMessage | undefined
    try {
      request = client.get(url, { headers, signal, timeout: timeoutMs }, (response) => {
        received = response
        resume(Effect.succeed(response))
      })
    } catch (error) {
      resume(Effect.fail(reasonOf(error, timeoutMs)))
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
    request.on("error", (error) => resume(Effect.fail(reasonOf(error, timeoutMs))))
  })

/**
 * Follows redirects itself: the hub answers an LFS file with a redirect to its CDN that carries
 * the file's size in `x-linked-size`, which an automatic redirect would hide.
 */
const openResponse = Effect.fn("openResponse")(function* (target: Target, settings: HubSettings, rangeStart: number) {
  let url = new URL(target.url)
  const headers: Record<string, string> = { "accept-encoding": "identity", "user-agent": USER_AGENT }
  if (settings.token !== undefined) headers["authorization"] = `Bearer ${settings.token}`
  if (rangeStart > 0) headers["range"] = `bytes=${rangeStart}-`
  let linkedSize: number | undefined
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const host = hop === 0 ? settings.endpoint : url.origin
    const response = yield* get(url, headers, settings.timeoutMs).pipe(
      Effect.mapError(
        (reason) =>
          new HubError({
            repo: target.repo,
            file: target.file,
            problem: `cannot reach ${host} to download ${target.repo}/${target.file}: ${reason}; pass a local directory or set HF_HUB_OFFLINE=1 to use the cache`
          })
      )
    )
    linkedSize ??= headerInteger(response.headers["x-linked-size"])
    const location = response.headers.location
    if (!REDIRECT_STATUSES.has(response.statusCode ?? 0) || location === undefined) {
      return { response, url, linkedSize }
    }
    response.resume()
    const next = new URL(location, url)
    // CDN links are signed; the token is for the hub only.
    if (next.origin !== url.origin) delete headers["authorization"]
    url = next
  }
  return yield* new HubError({
    repo: target.repo,
    file: target.file,
    problem: `more than ${MAX_REDIRECTS} redirects while downloading ${target.repo}/${target.file} from ${target.url}`
  })
})

const writeFailure = (target: Target, path: string) => (error: unknown) =>
  new HubError({ repo: target.repo, file: target.file, problem: `cannot write ${path}: ${reasonOf(error, 0)}` })

const removeQuietly = (path: string): Effect.Effect<void> => Effect.promise(() => rm(path, { force: true }).catch(() => undefined))

/** undefined: an optional file the repository does not have. */
const fetchIntoCache = (
  settings: HubSettings,
  target: Target,
  finalPath: string,
  required: boolean
): Effect.Effect<string | undefined, HubError> =>
  Effect.gen(function* () {
    const { repo, file } = target
    const partial = `${finalPath}.incomplete`
    const start = (yield* sizeOf(partial)) ?? 0
    const { response, url, linkedSize } = yield* openResponse(target, settings, start)
    const status = response.statusCode ?? 0
    if (status !== 200 && status !== 206) response.resume()

    if (status === 404 && !required) {
      const marker = noExistMarker(settings, repo, file)
      // Remembering the absence keeps a warm cache from asking again; losing the marker only costs a request.
      yield* Effect.promise(() =>
        mkdir(dirname(marker), { recursive: true })
          .then(() => writeFile(marker, ""))
          .catch(() => undefined)
      )
      return undefined
    }
    if (status === 404) {
      return yield* new HubError({
        repo,
        file,
        problem: `${repo} has no ${file} at revision '${settings.revision}': HTTP 404 from ${target.url}`
      })
    }
    if (status === 416 && start > 0) {
      // The partial file is not a prefix the server can continue (the file changed, or it is already too long).
      yield* removeQuietly(partial)
      return yield* fetchIntoCache(settings, target, finalPath, required)
    }
    if (status === 401 || status === 403) {
      return yield* new HubError({
        repo,
        file,
        problem: `HTTP ${status} from ${target.url}: ${repo} is private or gated; ${settings.token === undefined ? "set HF_TOKEN" : "the token in HF_TOKEN has no access to it"}`
      })
    }
    if (status !== 200 && status !== 206) {
      return yield* new HubError({ repo, file, problem: `HTTP ${status} from ${url.href} while downloading ${repo}/${file}` })
    }

    let offset = 0
    let expected: number | undefined
    const contentLength = headerInteger(response.headers["content-length"])
    if (status === 206) {
      const range = parseContentRange(response.headers["content-range"])
      if (range === undefined || range.start !== start) {
        response.resume()
        if (start === 0) {
          return yield* new HubError({
            repo,
            file,
            problem: `HTTP 206 from ${url.href} with Content-Range '${response.headers["content-range"] ?? ""}' for a request of the whole of ${repo}/${file}`
          })
        }
        // Not the continuation asked for: start over rather than splice the wrong bytes.
        yield* removeQuietly(partial)
        return yield* fetchIntoCache(settings, target, finalPath, required)
      }
      offset = start
      expected = linkedSize ?? range.total ?? (contentLength === undefined ? undefined : start + contentLength)
    } else {
      expected = linkedSize ?? contentLength
    }

    yield* Effect.tryPromise({
      try: (signal) =>
        pipeline(response, createWriteStream(partial, { flags: offset > 0 ? "a" : "w" }), { signal }),
      catch: (error) => error
    }).pipe(
      Effect.catch((error) =>
        Effect.gen(function* () {
          const got = (yield* sizeOf(partial)) ?? 0
          return yield* new HubError({
            repo,
            file,
            problem: `download of ${repo}/${file} from ${url.href} stopped after ${got} of ${expected ?? "?"} bytes (${reasonOf(error, settings.timeoutMs)}); ${partial} is kept and the next run resumes from it`
          })
        })
      )
    )

    const got = (yield* sizeOf(partial)) ?? 0
    if (expected !== undefined && got !== expected) {
      const resumable = got < expected
      if (!resumable) yield* removeQuietly(partial)
      const source = linkedSize !== undefined ? "x-linked-size" : status === 206 ? "Content-Range" : "Content-Length"
      return yield* new HubError({
        repo,
        file,
        problem: `size mismatch for ${repo}/${file}: received ${got} bytes, the hub announced ${expected} (${source}); ${resumable ? `${partial} is kept and the next run resumes from it` : "the download was removed"}`
      })
    }
    yield* Effect.tryPromise({ try: () => rename(partial, finalPath), catch: writeFailure(target, finalPath) })
    return finalPath
  })

/**
 * The cached path of `file` in the settings' snapshot, downloading it first when it is not there.
 * undefined for an optional file the repository lacks (or, offline, that the cache lacks).
 */
export const cachedFile = Effect.fn("cachedFile")(function* (
  settings: HubSettings,
  repo: string,
  file: string,
  required: boolean
) {
  const directory = snapshotDir(settings, repo)
  const finalPath = join(directory, file)
  if ((yield* sizeOf(finalPath)) !== undefined) return finalPath
  if (!required && (yield* sizeOf(noExistMarker(settings, repo, file))) !== undefined) return undefined
  if (settings.offline) {
    if (!required) return undefined
    return yield* new HubError({ repo, file, problem: `offline and ${file} is not in the cache at ${finalPath}` })
  }
  const target: Target = { repo, file, url: fileUrl(settings, repo, file) }
  yield* Effect.tryPromise({
    try: () => mkdir(dirname(finalPath), { recursive: true }),
    catch: writeFailure(target, dirname(finalPath))
  })
  return yield* fetchIntoCache(settings, target, finalPath, required)
})

/** One file of a hub repository, from the cache or downloaded into it; its local path. */
export const downloadFile = Effect.fn("downloadFile")(function* (repo: string, file: string, options: HubOptions = {}) {
  const settings = hubSettings(options)
  yield* checkRepoAndRevision(repo, settings.revision)
  const path = yield* cachedFile(settings, repo, file, true)
  if (path === undefined) return yield* new HubError({ repo, file, problem: `${repo} has no ${file}` })
  return path
})
