/**
 * The safetensors format (Hugging Face's checkpoint format): an 8-byte little-endian header
 * length n, n bytes of JSON `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?}`,
 * then the data, each tensor a little-endian row-major block at [begin, end) of it.
 *
 * Reading validates the file the way the reference Rust implementation does (offsets contiguous
 * and covering the data exactly), so a file this module accepts is one PyTorch accepts too.
 * Every failure is a SafetensorsError naming the file and, where there is one, the tensor.
 */
import { readFile } from "node:fs/promises"
import { endianness } from "node:os"
import { Effect, Schema } from "effect"
import { writeFileAtomic } from "./atomic-file.ts"
import { problemText } from "./errors.ts"

export class SafetensorsError extends Schema.TaggedError<SafetensorsError>()("SafetensorsError", {
  file: Schema.String,
  /** "" when the problem is with the file as a whole. */
  tensor: Schema.String,
  problem: Schema.String
}) {
  override get message(): string {
    return `${this.file}: ${this.tensor === "" ? "" : `tensor '${this.tensor}': `}${this.problem}`
  }
}

/** Bytes per element of every dtype the format defines; only some of them are decoded here. */
const DTYPE_BYTES: Readonly<Record<string, number>> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8
}

export interface SafetensorsEntry {
  readonly name: string
  readonly dtype: string
  readonly shape: ReadonlyArray<number>
  /** A view into the file's bytes, validated to be exactly shape product × dtype size long. */
  readonly bytes: Uint8Array
}

export interface SafetensorsFile {
  readonly file: string
  readonly tensors: ReadonlyMap<string, SafetensorsEntry>
  readonly metadata: Readonly<Record<string, string>>
}

/** What the writer takes: float32 values, row-major, with their shape. */
export interface FloatTensorData {
  readonly shape: ReadonlyArray<number>
  readonly values: Float32Array
}

export type WritableDtype = "F32" | "F16" | "BF16"

const LITTLE_ENDIAN_HOST = endianness() === "LE"

const elementCount = (shape: ReadonlyArray<number>): number => shape.reduce((a, b) => a * b, 1)

const isIndex = (value: unknown): value is number => typeof value === "number" && Number.isSafeInteger(value) && value >= 0

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

interface HeaderEntry {
  readonly name: string
  readonly dtype: string
  readonly shape: ReadonlyArray<number>
  readonly begin: number
  readonly end: number
}

const checkEntry = (
  file: string,
  name: string,
  value: unknown,
  dataLength: number
): Effect.Effect<HeaderEntry, SafetensorsError> => {
  const fail = (problem: string) => Effect.fail(new SafetensorsError({ file, tensor: name, problem }))
  if (!isRecord(value)) return fail("header entry is not an object")
  const { dtype, shape, data_offsets: offsets } = value
  if (typeof dtype !== "string") return fail("header entry has no dtype string")
  const size = DTYPE_BYTES[dtype]
  if (size === undefined) return fail(`unknown dtype '${dtype}'`)
  if (!Array.isArray(shape) || !shape.every(isIndex)) return fail("shape is not a list of integers ≥ 0")
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isIndex)) {
    return fail("data_offsets is not a pair of integers ≥ 0")
  }
  const [begin, end] = offsets as [number, number]
  if (end < begin) return fail(`data_offsets [${begin}, ${end}] end before they begin`)
  if (end > dataLength) return fail(`data_offsets [${begin}, ${end}] lie outside the data (${dataLength} bytes)`)
  const expected = elementCount(shape) * size
  if (end - begin !== expected) {
    return fail(`holds ${end - begin} bytes, but shape [${shape.join(", ")}] of ${dtype} needs ${expected}`)
  }
  return Effect.succeed({ name, dtype, shape, begin, end })
}

/** Parses and validates a whole safetensors file held in memory; `file` names it in errors. */
export const parseSafetensors = (bytes: Uint8Array, file: string): Effect.Effect<SafetensorsFile, SafetensorsError> =>
  Effect.gen(function* () {
    const fail = (problem: string, tensor = "") => new SafetensorsError({ file, tensor, problem })
    if (bytes.length < 8) return yield* fail(`${bytes.length} bytes: too short for the 8-byte header length`)
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    const headerLength = view.getBigUint64(0, true)
    if (headerLength > BigInt(bytes.length - 8)) {
      return yield* fail(`header length ${headerLength} is beyond the end of the file (${bytes.length} bytes)`)
    }
    const dataStart = 8 + Number(headerLength)
    let header: unknown
    try {
      header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, dataStart)))
    } catch (error) {
      return yield* fail(`header is not JSON: ${problemText(error)}`)
    }
    if (!isRecord(header)) return yield* fail("header is not a JSON object")
    const data = bytes.subarray(dataStart)
    const entries: Array<HeaderEntry> = []
    const metadata: Record<string, string> = {}
    for (const [name, value] of Object.entries(header)) {
      if (name === "__metadata__") {
        if (isRecord(value)) for (const [key, text] of Object.entries(value)) metadata[key] = String(text)
        continue
      }
      entries.push(yield* checkEntry(file, name, value, data.length))
    }
    // The data must be tiled exactly: no overlap, no gap, nothing after the last tensor.
    const ordered = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end)
    let covered = 0
    let previous = ""
    for (const entry of ordered) {
      if (entry.begin < covered) {
        return yield* fail(`data_offsets [${entry.begin}, ${entry.end}] overlap tensor '${previous}'`, entry.name)
      }
      if (entry.begin > covered) {
        return yield* fail(`data_offsets [${entry.begin}, ${entry.end}] leave a gap after byte ${covered}`, entry.name)
      }
      covered = entry.end
      previous = entry.name
    }
    if (covered !== data.length) {
      return yield* fail(`${data.length - covered} bytes of data after the last tensor`)
    }
    const tensors = new Map<string, SafetensorsEntry>()
    for (const { name, dtype, shape, begin, end } of entries) {
      tensors.set(name, { name, dtype, shape, bytes: data.subarray(begin, end) })
    }
    return { file, tensors, metadata }
  })

export const readSafetensors = (path: string): Effect.Effect<SafetensorsFile, SafetensorsError> =>
  Effect.tryPromise({
    try: () => readFile(path),
    catch: (error) =>
      new SafetensorsError({
        file: path,
        tensor: "",
        problem: `cannot read the file (${(error as NodeJS.ErrnoException).code ?? String(error)})`
      })
  }).pipe(Effect.flatMap((bytes) => parseSafetensors(bytes, path)))

/** Half-precision bits → single-precision bits, for all 65536 halves (subnormals normalised). */
let halfToFloatBits: Uint32Array | undefined

const halfTable = (): Uint32Array => {
  if (halfToFloatBits !== undefined) return halfToFloatBits
  const table = new Uint32Array(65536)
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16
    const exponent = (h >> 10) & 0x1f
    let mantissa = h & 0x3ff
    if (exponent === 0x1f) {
      table[h] = (sign | 0x7f800000 | (mantissa << 13)) >>> 0
    } else if (exponent !== 0) {
      table[h] = (sign | ((exponent + 112) << 23) | (mantissa << 13)) >>> 0
    } else if (mantissa === 0) {
      table[h] = sign >>> 0
    } else {
      let floatExponent = 113
      while ((mantissa & 0x400) === 0) {
        mantissa <<= 1
        floatExponent--
      }
      table[h] = (sign | (floatExponent << 23) | ((mantissa & 0x3ff) << 13)) >>> 0
    }
  }
  halfToFloatBits = table
  return table
}

/** An aligned copy of little-endian elements (the file's views may sit at any byte offset). */
const copyUint16 = (bytes: Uint8Array): Uint16Array => {
  const out = new Uint16Array(bytes.length / 2)
  if (LITTLE_ENDIAN_HOST) new Uint8Array(out.buffer).set(bytes)
  else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    for (let i = 0; i < out.length; i++) out[i] = view.getUint16(2 * i, true)
  }
  return out
}

const copyFloat32 = (bytes: Uint8Array): Float32Array => {
  const out = new Float32Array(bytes.length / 4)
  if (LITTLE_ENDIAN_HOST) new Uint8Array(out.buffer).set(bytes)
  else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true)
  }
  return out
}

/** F32, F16 or BF16 values as float32; F16 and BF16 widen exactly (every value is representable). */
export const floatValues = (entry: SafetensorsEntry, file: string): Effect.Effect<Float32Array, SafetensorsError> => {
  switch (entry.dtype) {
    case "F32":
      return Effect.succeed(copyFloat32(entry.bytes))
    case "F16": {
      const halves = copyUint16(entry.bytes)
      const table = halfTable()
      const out = new Uint32Array(halves.length)
      for (let i = 0; i < halves.length; i++) out[i] = table[halves[i] as number] as number
      return Effect.succeed(new Float32Array(out.buffer))
    }
    case "BF16": {
      const halves = copyUint16(entry.bytes)
      const out = new Uint32Array(halves.length)
      for (let i = 0; i < halves.length; i++) out[i] = (halves[i] as number) << 16
      return Effect.succeed(new Float32Array(out.buffer))
    }
    default:
      return Effect.fail(
        new SafetensorsError({ file, tensor: entry.name, problem: `dtype ${entry.dtype} is not a float type carl reads (F32, F16, BF16)` })
      )
  }
}

/** I32 or I64 values as int32 (I64 must fit). */
export const intValues = (entry: SafetensorsEntry, file: string): Effect.Effect<Int32Array, SafetensorsError> => {
  const fail = (problem: string) => Effect.fail(new SafetensorsError({ file, tensor: entry.name, problem }))
  const view = new DataView(entry.bytes.buffer, entry.bytes.byteOffset, entry.bytes.byteLength)
  if (entry.dtype === "I32") {
    const out = new Int32Array(entry.bytes.length / 4)
    for (let i = 0; i < out.length; i++) out[i] = view.getInt32(4 * i, true)
    return Effect.succeed(out)
  }
  if (entry.dtype === "I64") {
    const out = new Int32Array(entry.bytes.length / 8)
    for (let i = 0; i < out.length; i++) {
      const value = view.getBigInt64(8 * i, true)
      if (value < -2147483648n || value > 2147483647n) return fail(`element ${i} (${value}) does not fit in int32`)
      out[i] = Number(value)
    }
    return Effect.succeed(out)
  }
  return fail(`dtype ${entry.dtype} is not an integer type carl reads (I32, I64)`)
}

const scratch = new Float32Array(1)
const scratchBits = new Uint32Array(scratch.buffer)

const floatBits = (value: number): number => {
  scratch[0] = value
  return scratchBits[0] as number
}

/** float32 → float16 bits, rounding to nearest even; overflow gives ±inf, NaN stays NaN. */
export const toHalfBits = (value: number): number => {
  const bits = floatBits(value)
  const sign = (bits >>> 16) & 0x8000
  const exponent = (bits >>> 23) & 0xff
  const mantissa = bits & 0x7fffff
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa === 0 ? 0 : 0x200 | (mantissa >>> 13))
  const halfExponent = exponent - 112
  if (halfExponent >= 31) return sign | 0x7c00
  if (halfExponent <= 0) {
    if (halfExponent < -10) return sign
    const full = mantissa | 0x800000
    const shift = 14 - halfExponent
    let half = full >>> shift
    const rest = full & ((1 << shift) - 1)
    const halfway = 1 << (shift - 1)
    if (rest > halfway || (rest === halfway && (half & 1) === 1)) half++
    return sign | half
  }
  let half = sign | (halfExponent << 10) | (mantissa >>> 13)
  const rest = mantissa & 0x1fff
  // A carry out of the mantissa correctly bumps the exponent (and past the largest half, to inf).
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half++
  return half
}

/** float32 → bfloat16 bits, rounding to nearest even; NaN stays NaN. */
export const toBfloat16Bits = (value: number): number => {
  const bits = floatBits(value)
  if ((bits & 0x7fffffff) > 0x7f800000) return (bits >>> 16) | 0x40
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff
}

const DTYPE_WIDTH: Readonly<Record<WritableDtype, number>> = { F32: 4, F16: 2, BF16: 2 }

/**
 * A safetensors file in memory. Tensors are sorted by name so the same weights always give the
 * same bytes; the header is padded with spaces to a multiple of 8 bytes, as the Rust writer does,
 * so the data (and every F32 tensor in it) starts aligned.
 */
export const encodeSafetensors = (
  tensors: Iterable<readonly [string, FloatTensorData]>,
  options: { readonly dtype?: WritableDtype; readonly metadata?: Readonly<Record<string, string>>; readonly file?: string } = {}
): Effect.Effect<Uint8Array, SafetensorsError> =>
  Effect.gen(function* () {
    const dtype = options.dtype ?? "F32"
    const file = options.file ?? "<memory>"
    const width = DTYPE_WIDTH[dtype]
    const byName = new Map<string, FloatTensorData>()
    for (const [name, tensor] of tensors) {
      if (name === "__metadata__" || byName.has(name)) {
        return yield* new SafetensorsError({ file, tensor: name, problem: "name used twice or reserved" })
      }
      if (!tensor.shape.every(isIndex) || elementCount(tensor.shape) !== tensor.values.length) {
        return yield* new SafetensorsError({
          file,
          tensor: name,
          problem: `${tensor.values.length} values do not fill shape [${tensor.shape.join(", ")}]`
        })
      }
      byName.set(name, tensor)
    }
    const names = [...byName.keys()].sort()
    const header: Record<string, unknown> = {}
    if (options.metadata !== undefined) header.__metadata__ = options.metadata
    let offset = 0
    for (const name of names) {
      const tensor = byName.get(name) as FloatTensorData
      const length = tensor.values.length * width
      header[name] = { dtype, shape: [...tensor.shape], data_offsets: [offset, offset + length] }
      offset += length
    }
    let headerText = JSON.stringify(header)
    const headerBytes = new TextEncoder().encode(headerText)
    const padding = (8 - (headerBytes.length % 8)) % 8
    headerText += " ".repeat(padding)
    const out = new Uint8Array(8 + headerBytes.length + padding + offset)
    const view = new DataView(out.buffer)
    view.setBigUint64(0, BigInt(headerBytes.length + padding), true)
    out.set(headerBytes, 8)
    out.fill(0x20, 8 + headerBytes.length, 8 + headerBytes.length + padding)
    let position = 8 + headerBytes.length + padding
    for (const name of names) {
      const { values } = byName.get(name) as FloatTensorData
      if (dtype === "F32") {
        if (LITTLE_ENDIAN_HOST) out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), position)
        else for (let i = 0; i < values.length; i++) view.setFloat32(position + 4 * i, values[i] as number, true)
      } else {
        const convert = dtype === "F16" ? toHalfBits : toBfloat16Bits
        for (let i = 0; i < values.length; i++) view.setUint16(position + 2 * i, convert(values[i] as number), true)
      }
      position += values.length * width
    }
    return out
  })

/** Writes a safetensors file atomically (temporary file, then rename). */
export const writeSafetensors = (
  path: string,
  tensors: Iterable<readonly [string, FloatTensorData]>,
  options: { readonly dtype?: WritableDtype; readonly metadata?: Readonly<Record<string, string>> } = {}
): Effect.Effect<void, SafetensorsError> =>
  encodeSafetensors(tensors, { ...options, file: path }).pipe(
    Effect.flatMap((bytes) =>
      Effect.tryPromise({
        try: () => writeFileAtomic(path, bytes),
        catch: (error) =>
          new SafetensorsError({
            file: path,
            tensor: "",
            problem: `cannot write the file (${(error as NodeJS.ErrnoException).code ?? String(error)})`
          })
      })
    )
  )
