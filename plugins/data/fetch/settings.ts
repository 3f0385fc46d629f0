/**
 * Where fetched datasets are kept and where they are fetched from, read from the options first
 * and the environment second (as the hub settings are).
 *
 * Cache layout: `<cache>/<dataset>/<file>` exactly as the readers in plugins/data read a data
 * folder (the same as ../shared/data), plus, only while a download is unfinished,
 * `<file>.incomplete`, which the next fetch continues.
 */
import { homedir } from "node:os"
import { join } from "node:path"

export interface DataCacheOptions {
  /** Default: CARL_DATA_DIR, else $XDG_CACHE_HOME/carl/data, else ~/.cache/carl/data. */
  readonly cacheDir?: string
  /** The environment the defaults are read from; default: process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>
}

export const DEFAULT_DATA_TIMEOUT_MS = 30_000

const nonEmpty = (value: string | undefined): string | undefined => (value === undefined || value === "" ? undefined : value)

export const dataCacheDir = (options: DataCacheOptions = {}): string => {
  const env = options.env ?? process.env
  return (
    options.cacheDir ??
    nonEmpty(env["CARL_DATA_DIR"]) ??
    join(nonEmpty(env["XDG_CACHE_HOME"]) ?? join(homedir(), ".cache"), "carl", "data")
  )
}

/** CARL_DATA_MIRROR, if set: a server holding the sources under their own URL paths. */
export const dataMirror = (env: Readonly<Record<string, string | undefined>> = process.env): string | undefined =>
  nonEmpty(env["CARL_DATA_MIRROR"])

/**
 * A source URL moved to a mirror: the mirror's origin (and path prefix, if any) followed by the
 * source's own path, so one mirror can hold files from several hosts.
 */
export const mirroredUrl = (url: string, mirror: string | undefined): string => {
  if (mirror === undefined) return url
  const source = new URL(url)
  return `${mirror.replace(/\/+$/, "")}${source.pathname}${source.search}`
}
