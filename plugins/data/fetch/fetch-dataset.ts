/**
 * `fetchDataset("emobank")`: the dataset's files into `<cache>/emobank/`, in the layout the data
 * readers read. A file already there at its pinned size is not asked for again (so a warm cache
 * makes no request); an unfinished one is continued; every download is checked against its pinned
 * size and sha256 before it is renamed into place (plugins/data/download.ts).
 */
import { join } from "node:path"
import { Effect } from "effect"
import { downloadToFile, fileSize, partialPath, removeQuietly, type DownloadError } from "../download.ts"
import { DataFetchError } from "./data-fetch-error.ts"
import { DATASETS, type ArchiveSubset, type DatasetSpec, type DownloadedFile } from "./datasets.ts"
import { dataCacheDir, dataMirror, DEFAULT_DATA_TIMEOUT_MS, mirroredUrl, type DataCacheOptions } from "./settings.ts"
import { writeTarSubset } from "./tar-subset.ts"

export type FetchEvent =
  | { readonly kind: "cached"; readonly dataset: string; readonly file: string; readonly path: string }
  | {
      readonly kind: "download"
      readonly dataset: string
      readonly file: string
      readonly url: string
      readonly size: number
      /** Bytes already in the partial file from an earlier run. */
      readonly resumeFrom: number
    }
  | { readonly kind: "repack"; readonly dataset: string; readonly file: string; readonly from: string }

export interface FetchOptions extends DataCacheOptions {
  /** A server holding the sources under their own URL paths (a mirror, a test server); default: CARL_DATA_MIRROR. */
  readonly mirror?: string
  /** Use only the cache: a missing file is an error instead of a download. */
  readonly offline?: boolean
  /** Download again even what is in the cache. */
  readonly force?: boolean
  /** How long a connection may stay silent; default 30 s. */
  readonly timeoutMs?: number
  /** The datasets known; default: DATASETS. */
  readonly datasets?: ReadonlyArray<DatasetSpec>
  readonly onEvent?: (event: FetchEvent) => void
}

interface Context {
  readonly dataset: string
  readonly cacheDir: string
  readonly mirror: string | undefined
  readonly offline: boolean
  readonly force: boolean
  readonly timeoutMs: number
  readonly emit: (event: FetchEvent) => Effect.Effect<void>
}

const problemLine = (context: Context, file: string, url: string, path: string, error: DownloadError): string => {
  const name = `${context.dataset}/${file}`
  const yourself = `download it yourself from ${url} into ${path}`
  const problem = error.problem
  switch (problem.kind) {
    case "unreachable":
      return `cannot reach ${new URL(problem.url).host} to download ${name}: ${problem.reason}; ${yourself}`
    case "status":
      return `HTTP ${problem.status} from ${problem.url} while downloading ${name}; ${yourself}`
    case "stopped":
      return `download of ${name} from ${problem.url} stopped after ${problem.got} of ${problem.expected ?? "?"} bytes (${problem.reason}); ${problem.partial} is kept and the next fetch resumes from it`
    case "announced":
      return `${problem.url} announces ${problem.announced} bytes for ${name} (${problem.source}), not the ${problem.expected} of the pinned version; nothing was downloaded`
    case "size":
      return `size mismatch for ${name}: received ${problem.got} bytes from ${problem.url}, expected ${problem.expected}; ${problem.kept ? `${problem.partial} is kept and the next fetch resumes from it` : "the download was removed"}`
    case "sha256":
      return `checksum mismatch for ${name} from ${problem.url}: sha256 ${problem.actual}, expected ${problem.expected}; the download was removed`
    case "write":
      return error.message
    case "redirects":
    case "badRange":
      return `${name}: ${error.message}`
  }
}

/** One published file into `path`, unless it is there at its pinned size already. */
const ensureDownloaded = (context: Context, file: Omit<DownloadedFile, "kind">) =>
  Effect.gen(function* () {
    const path = join(context.cacheDir, context.dataset, file.path)
    const url = mirroredUrl(file.url, context.mirror)
    const present = yield* fileSize(path)
    if (present === file.size && !context.force) {
      yield* context.emit({ kind: "cached", dataset: context.dataset, file: file.path, path })
      return path
    }
    if (context.offline) {
      const state = present === undefined ? "is not in the cache" : `in the cache has ${present} bytes, not ${file.size}`
      return yield* new DataFetchError({
        dataset: context.dataset,
        file: file.path,
        problem: `offline and ${context.dataset}/${file.path} ${state}; download it from ${url} into ${path}`
      })
    }
    if (context.force) yield* removeQuietly(partialPath(path))
    const resumeFrom = (yield* fileSize(partialPath(path))) ?? 0
    yield* context.emit({ kind: "download", dataset: context.dataset, file: file.path, url, size: file.size, resumeFrom })
    yield* downloadToFile({ url, destination: path, timeoutMs: context.timeoutMs, size: file.size, sha256: file.sha256 }).pipe(
      Effect.mapError((error) => new DataFetchError({ dataset: context.dataset, file: file.path, problem: problemLine(context, file.path, url, path, error) }))
    )
    return path
  })

/** A repacked archive: the published one is fetched (or found), repacked, and then removed. */
const ensureSubset = (context: Context, subset: ArchiveSubset) =>
  Effect.gen(function* () {
    const path = join(context.cacheDir, context.dataset, subset.path)
    if ((yield* fileSize(path)) !== undefined && !context.force) {
      yield* context.emit({ kind: "cached", dataset: context.dataset, file: subset.path, path })
      return path
    }
    const archive = yield* ensureDownloaded(context, subset.archive)
    yield* context.emit({ kind: "repack", dataset: context.dataset, file: subset.path, from: subset.archive.path })
    yield* writeTarSubset(archive, path, (entry) => subset.keep.test(entry), subset.entries).pipe(
      Effect.mapError(
        ({ reason }) =>
          new DataFetchError({
            dataset: context.dataset,
            file: subset.path,
            problem: `cannot make ${context.dataset}/${subset.path} from ${archive}: ${reason}`
          })
      )
    )
    // The readers need only the subset; the 84 MB original can be fetched again with --force.
    yield* removeQuietly(archive)
    return path
  })

const unknownDataset = (name: string, datasets: ReadonlyArray<DatasetSpec>) =>
  new DataFetchError({
    dataset: name,
    file: "",
    problem: `unknown dataset '${name}'; known: ${datasets.map((dataset) => dataset.name).join(", ")}`
  })

/** The dataset called `name`, or an error listing the known ones. */
export const findDataset = (name: string, datasets: ReadonlyArray<DatasetSpec> = DATASETS): Effect.Effect<DatasetSpec, DataFetchError> => {
  const dataset = datasets.find((candidate) => candidate.name === name)
  return dataset === undefined ? Effect.fail(unknownDataset(name, datasets)) : Effect.succeed(dataset)
}

const checkMirror = (mirror: string | undefined): Effect.Effect<string | undefined, DataFetchError> => {
  if (mirror === undefined) return Effect.succeed(undefined)
  let protocol = ""
  try {
    protocol = new URL(mirror).protocol
  } catch {
    // Reported below with the value, which says more than the URL parser's message.
  }
  if (protocol === "http:" || protocol === "https:") return Effect.succeed(mirror)
  return Effect.fail(new DataFetchError({ dataset: "", file: "", problem: `the data mirror '${mirror}' (CARL_DATA_MIRROR) is not an http(s) URL` }))
}

/** Fetches one dataset into the cache (see the module comment); its folder. */
export const fetchDataset = Effect.fn("fetchDataset")(function* (name: string, options: FetchOptions = {}) {
  const dataset = yield* findDataset(name, options.datasets ?? DATASETS)
  const mirror = yield* checkMirror(options.mirror ?? dataMirror(options.env ?? process.env))
  const onEvent = options.onEvent
  const context: Context = {
    dataset: dataset.name,
    cacheDir: dataCacheDir(options),
    mirror,
    offline: options.offline ?? false,
    force: options.force ?? false,
    timeoutMs: options.timeoutMs ?? DEFAULT_DATA_TIMEOUT_MS,
    emit: (event) => (onEvent === undefined ? Effect.void : Effect.sync(() => onEvent(event)))
  }
  for (const file of dataset.files) {
    if (file.kind === "download") yield* ensureDownloaded(context, file)
    else yield* ensureSubset(context, file)
  }
  return join(context.cacheDir, dataset.name)
})

/** Several datasets, in order; every name is checked before anything is downloaded. Their folders. */
export const fetchDatasets = Effect.fn("fetchDatasets")(function* (names: ReadonlyArray<string>, options: FetchOptions = {}) {
  const datasets = options.datasets ?? DATASETS
  for (const name of names) yield* findDataset(name, datasets)
  const folders: Array<string> = []
  for (const name of new Set(names)) folders.push(yield* fetchDataset(name, options))
  return folders
})
