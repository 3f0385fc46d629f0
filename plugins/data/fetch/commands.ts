/**
 * The programs behind `carl data fetch` and `carl data path`. Progress goes to stderr, one line a
 * file; stdout gets only the dataset folders, so `$(carl data fetch emobank)` is the folder.
 */
import { join } from "node:path"
import { Console, Effect } from "effect"
import { fetchDatasets, findDataset, type FetchEvent, type FetchOptions } from "./fetch-dataset.ts"
import { dataCacheDir, type DataCacheOptions } from "./settings.ts"

const megabytes = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`

export const describeFetchEvent = (event: FetchEvent): string => {
  const name = `${event.dataset}/${event.file}`
  switch (event.kind) {
    case "cached":
      return `${name}: in the cache`
    case "download":
      return `${name}: downloading ${megabytes(event.size)} from ${event.url}${event.resumeFrom > 0 ? ` (resuming after ${megabytes(event.resumeFrom)})` : ""}`
    case "repack":
      return `${name}: keeping the entries the reader needs from ${event.from}`
  }
}

export const dataFetchCommand = (names: ReadonlyArray<string>, options: FetchOptions = {}) =>
  Effect.gen(function* () {
    const folders = yield* fetchDatasets(names, {
      ...options,
      onEvent: options.onEvent ?? ((event) => process.stderr.write(`${describeFetchEvent(event)}\n`))
    })
    yield* Console.log(folders.join("\n"))
  })

/** The cache folder, or the named datasets' folders in it (whether fetched or not). */
export const dataPathCommand = (names: ReadonlyArray<string>, options: DataCacheOptions = {}) =>
  Effect.gen(function* () {
    const cacheDir = dataCacheDir(options)
    if (names.length === 0) return yield* Console.log(cacheDir)
    for (const name of names) yield* findDataset(name)
    yield* Console.log(names.map((name) => join(cacheDir, name)).join("\n"))
  })
