/**
 * Where models come from and where they are kept: the hub endpoint, the token, the offline switch
 * and the cache directory, read from the options first and from huggingface_hub's environment
 * variables second, so a cache shared with Python tools is found without configuration.
 *
 * Cache layout (a simplified huggingface_hub layout):
 *   <cache>/models--<org>--<name>/snapshots/<revision>/<file>        the complete file
 *   <cache>/models--<org>--<name>/snapshots/<revision>/<file>.incomplete   a download to resume
 *   <cache>/models--<org>--<name>/.no_exist/<revision>/<file>       an optional file the hub lacks
 * There are no blobs/ and no symlinks: a snapshot folder holds the files themselves. There is no
 * refs/ either, on purpose: huggingface_hub's try_to_load_from_cache reads refs/<revision> to turn
 * a branch into a commit hash and, when that file is absent, looks in snapshots/<revision>/, which is
 * exactly this folder. Writing refs/main would point Python at a commit folder that does not exist.
 */
import { homedir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { HubError } from "./hub-error.ts"

export interface HubOptions {
  /** Branch, tag or commit; default "main". */
  readonly revision?: string
  /** Default: HF_ENDPOINT, else https://huggingface.co. */
  readonly endpoint?: string
  /** The hub cache; default: HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub. */
  readonly cacheDir?: string
  /** Sent as a bearer token; default: HF_TOKEN. */
  readonly token?: string
  /** Use only the cache; default: HF_HUB_OFFLINE. */
  readonly offline?: boolean
  /** How long a connection may stay silent (connecting, waiting for headers, between body chunks). */
  readonly timeoutMs?: number
  /** The environment the defaults are read from; default: process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>
}

export interface HubSettings {
  readonly revision: string
  readonly endpoint: string
  readonly cacheDir: string
  readonly token: string | undefined
  readonly offline: boolean
  readonly timeoutMs: number
}

export const DEFAULT_ENDPOINT = "https://huggingface.co"
export const DEFAULT_REVISION = "main"
export const DEFAULT_TIMEOUT_MS = 30_000

const nonEmpty = (value: string | undefined): string | undefined => (value === undefined || value === "" ? undefined : value)

// huggingface_hub's reading of boolean variables (constants._is_true).
const isTrue = (value: string | undefined): boolean =>
  value !== undefined && ["1", "ON", "YES", "TRUE"].includes(value.trim().toUpperCase())

export const hubSettings = (options: HubOptions = {}): HubSettings => {
  const env = options.env ?? process.env
  const hfHome =
    nonEmpty(env["HF_HOME"]) ?? join(nonEmpty(env["XDG_CACHE_HOME"]) ?? join(homedir(), ".cache"), "huggingface")
  return {
    revision: options.revision ?? DEFAULT_REVISION,
    endpoint: (options.endpoint ?? nonEmpty(env["HF_ENDPOINT"]) ?? DEFAULT_ENDPOINT).replace(/\/+$/, ""),
    cacheDir: options.cacheDir ?? nonEmpty(env["HF_HUB_CACHE"]) ?? join(hfHome, "hub"),
    token: options.token ?? nonEmpty(env["HF_TOKEN"]),
    offline: options.offline ?? isTrue(env["HF_HUB_OFFLINE"]),
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  }
}

// huggingface_hub's validate_repo_id: one or two parts of word characters, '-' and '.', no '--' or '..'.
const REPO_PART = /^[\w][\w.-]{0,95}$/

export const isRepoId = (id: string): boolean => {
  const parts = id.split("/")
  return (
    parts.length <= 2 &&
    parts.every((part) => REPO_PART.test(part) && !part.endsWith(".")) &&
    !id.includes("--") &&
    !id.includes("..") &&
    !id.endsWith(".git")
  )
}

/** The checks that keep an id and a revision from naming a folder outside the cache. */
export const checkRepoAndRevision = (repo: string, revision: string): Effect.Effect<void, HubError> => {
  if (!isRepoId(repo)) {
    return Effect.fail(
      new HubError({
        repo,
        file: "",
        problem: `'${repo}' is neither a local directory nor a Hugging Face model id (name or org/name)`
      })
    )
  }
  const segments = revision.split("/")
  if (segments.some((segment) => segment === "" || segment === "." || segment === ".." || !/^[\w.-]+$/.test(segment))) {
    return Effect.fail(new HubError({ repo, file: "", problem: `'${revision}' is not a usable revision of ${repo}` }))
  }
  return Effect.void
}

export const repoCacheDir = (settings: HubSettings, repo: string): string =>
  join(settings.cacheDir, `models--${repo.replaceAll("/", "--")}`)

export const snapshotDir = (settings: HubSettings, repo: string): string =>
  join(repoCacheDir(settings, repo), "snapshots", ...settings.revision.split("/"))

export const noExistMarker = (settings: HubSettings, repo: string, file: string): string =>
  join(repoCacheDir(settings, repo), ".no_exist", ...settings.revision.split("/"), file)

/** `${endpoint}/${repo}/resolve/${revision}/${file}`, with the revision escaped as huggingface_hub does. */
export const fileUrl = (settings: HubSettings, repo: string, file: string): string =>
  `${settings.endpoint}/${repo}/resolve/${encodeURIComponent(settings.revision)}/${file}`
