/**
 * One file from the hub into the cache: taken from the cache when it is there, otherwise fetched
 * into `<file>.incomplete` (resumed with a Range request when a previous run left one), checked
 * against the size the hub announces, and renamed into place only when complete. The transfer is
 * plugins/data/download.ts; what is hub-specific here is the cache layout, the optional files' 404 markers
 * and the wording of failures.
 */
import { mkdir, writeFile } from "node:fs/promises"
import { dirname, join } from "node:path"
import { Effect } from "effect"
import { downloadToFile, fileSize, type DownloadError } from "../../data/download.ts"
import { HubError } from "./hub-error.ts"
import { checkRepoAndRevision, fileUrl, hubSettings, noExistMarker, snapshotDir, type HubOptions, type HubSettings } from "./hub-settings.ts"

interface Target {
  readonly repo: string
  readonly file: string
  readonly url: string
}

const resumeNote = (partial: string) => `${partial} is kept and the next run resumes from it`

/** The generic download failure as the one line a hub user needs, with the hub's own remedies. */
const hubProblem = (settings: HubSettings, target: Target, error: DownloadError): string => {
  const { repo, file } = target
  const problem = error.problem
  switch (problem.kind) {
    case "unreachable": {
      const host = problem.hop === 0 ? settings.endpoint : new URL(problem.url).origin
      return `cannot reach ${host} to download ${repo}/${file}: ${problem.reason}; pass a local directory or set HF_HUB_OFFLINE=1 to use the cache`
    }
    case "redirects":
      return `more than ${problem.limit} redirects while downloading ${repo}/${file} from ${target.url}`
    case "status":
      if (problem.status === 404) return `${repo} has no ${file} at revision '${settings.revision}': HTTP 404 from ${target.url}`
      if (problem.status === 401 || problem.status === 403) {
        return `HTTP ${problem.status} from ${target.url}: ${repo} is private or gated; ${settings.token === undefined ? "set HF_TOKEN" : "the token in HF_TOKEN has no access to it"}`
      }
      return `HTTP ${problem.status} from ${problem.url} while downloading ${repo}/${file}`
    case "badRange":
      return `HTTP 206 from ${problem.url} with Content-Range '${problem.contentRange}' for a request of the whole of ${repo}/${file}`
    case "stopped":
      return `download of ${repo}/${file} from ${problem.url} stopped after ${problem.got} of ${problem.expected ?? "?"} bytes (${problem.reason}); ${resumeNote(problem.partial)}`
    case "size":
      return `size mismatch for ${repo}/${file}: received ${problem.got} bytes, the hub announced ${problem.expected} (${problem.source}); ${problem.kept ? resumeNote(problem.partial) : "the download was removed"}`
    case "write":
      return error.message
    case "announced":
    case "sha256":
      return `${repo}/${file}: ${error.message}`
  }
}

/** undefined: an optional file the repository does not have. */
const fetchIntoCache = (
  settings: HubSettings,
  target: Target,
  finalPath: string,
  required: boolean
): Effect.Effect<string | undefined, HubError> =>
  downloadToFile({
    url: target.url,
    destination: finalPath,
    timeoutMs: settings.timeoutMs,
    ...(settings.token === undefined ? {} : { privateHeaders: { authorization: `Bearer ${settings.token}` } }),
    sizeHeader: "x-linked-size"
  }).pipe(
    Effect.map((downloaded): string | undefined => downloaded.path),
    Effect.catchTag("DownloadError", (error) => {
      if (!required && error.problem.kind === "status" && error.problem.status === 404) {
        const marker = noExistMarker(settings, target.repo, target.file)
        // Remembering the absence keeps a warm cache from asking again; losing the marker only costs a request.
        return Effect.promise(() =>
          mkdir(dirname(marker), { recursive: true })
            .then(() => writeFile(marker, ""))
            .catch(() => undefined)
        ).pipe(Effect.as(undefined))
      }
      return Effect.fail(new HubError({ repo: target.repo, file: target.file, problem: hubProblem(settings, target, error) }))
    })
  )

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
  if ((yield* fileSize(finalPath)) !== undefined) return finalPath
  if (!required && (yield* fileSize(noExistMarker(settings, repo, file))) !== undefined) return undefined
  if (settings.offline) {
    if (!required) return undefined
    return yield* new HubError({ repo, file, problem: `offline and ${file} is not in the cache at ${finalPath}` })
  }
  const target: Target = { repo, file, url: fileUrl(settings, repo, file) }
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
