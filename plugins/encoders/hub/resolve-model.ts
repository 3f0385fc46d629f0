/**
 * A model directory from a local path or a Hugging Face hub id: what carl's CLI and pipelines take
 * as `--model`.
 */
import { lstat, stat } from "node:fs/promises"
import { Effect } from "effect"
import { cachedFile } from "./download-file.ts"
import { HubError } from "./hub-error.ts"
import { checkRepoAndRevision, hubSettings, isRepoId, snapshotDir, type HubOptions } from "./hub-settings.ts"

/**
 * What carl reads from a model repository. model.safetensors is last among the required files so
 * that a repository missing a small file fails before the large download starts.
 */
export const MODEL_FILES = {
  required: ["config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors"],
  optional: ["vocab.txt", "merges.txt", "vocab.json", "special_tokens_map.json"]
} as const

/** Downloads what is missing of a hub model into the cache; the snapshot directory. */
export const downloadModel = Effect.fn("downloadModel")(function* (repo: string, options: HubOptions = {}) {
  const settings = hubSettings(options)
  yield* checkRepoAndRevision(repo, settings.revision)
  for (const file of MODEL_FILES.required) yield* cachedFile(settings, repo, file, true)
  for (const file of MODEL_FILES.optional) yield* cachedFile(settings, repo, file, false)
  return snapshotDir(settings, repo)
})

const isDirectory = (path: string): Effect.Effect<boolean> =>
  Effect.promise(() =>
    stat(path).then(
      (stats) => stats.isDirectory(),
      () => false
    )
  )

/** Why an existing path is not a folder; undefined when there is nothing at the path. */
const whyNotAFolder = (path: string): Effect.Effect<string | undefined> =>
  Effect.promise(() =>
    lstat(path).then(
      () =>
        stat(path).then(
          () => "a file",
          (error: NodeJS.ErrnoException) => `cannot follow it: ${error.code ?? String(error)}`
        ),
      () => undefined
    )
  )

/**
 * An existing directory as is (as transformers does, a local folder wins over a hub id of the same
 * name); anything else as a hub id (`bert-base-uncased`, `org/name`), downloaded or found in the cache.
 */
export const resolveModel = Effect.fn("resolveModel")(function* (idOrDir: string, options: HubOptions = {}) {
  if (yield* isDirectory(idOrDir)) return idOrDir
  // A path that is there but is no folder (a file, a symlink loop) and cannot be a hub id either:
  // say what it is rather than that it is neither.
  const notAFolder = isRepoId(idOrDir) ? undefined : yield* whyNotAFolder(idOrDir)
  if (notAFolder !== undefined) {
    return yield* new HubError({ repo: idOrDir, file: "", problem: `${idOrDir}: not a model folder (${notAFolder})` })
  }
  return yield* downloadModel(idOrDir, options)
})
