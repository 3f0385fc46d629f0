/**
 * The safetensors reader and writer on hand-made bytes: each way a file can be malformed gives a
 * SafetensorsError naming the file (and the tensor), every dtype decodes to the exact value,
 * and write → read gives back the same bits.
 */
import assert from "node:assert/strict"
import { mkdtemp, readdir, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, describe, test } from "node:test"
import { Effect, Result } from "effect"
import {
  encodeSafetensors,
  floatValues,
  intValues,
  parseSafetensors,
  readSafetensors,
  SafetensorsError,
  toBfloat16Bits,
  toHalfBits,
  writeSafetensors,
  type FloatTensorData,
  type SafetensorsFile
} from "../core/safetensors.ts"

const FILE = "hand-made.safetensors"

/** 8-byte little-endian length, the header as given (unpadded: the data may start unaligned), the data. */
const fileBytes = (header: unknown, data: Uint8Array = new Uint8Array(), lengthOverride?: bigint): Uint8Array => {
  const text = new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header))
  const out = new Uint8Array(8 + text.length + data.length)
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(text.length), true)
  out.set(text, 8)
  out.set(data, 8 + text.length)
  return out
}

const littleEndian = (width: 2 | 4 | 8, values: ReadonlyArray<number | bigint>): Uint8Array => {
  const out = new Uint8Array(values.length * width)
  const view = new DataView(out.buffer)
  values.forEach((value, i) => {
    if (width === 2) view.setUint16(i * 2, Number(value), true)
    else if (width === 4) view.setUint32(i * 4, Number(value), true)
    else view.setBigInt64(i * 8, BigInt(value), true)
  })
  return out
}

const parse = (bytes: Uint8Array): Result.Result<SafetensorsFile, SafetensorsError> =>
  Effect.runSync(Effect.result(parseSafetensors(bytes, FILE)))

const parsed = (bytes: Uint8Array): SafetensorsFile => {
  const result = parse(bytes)
  if (Result.isFailure(result)) assert.fail(result.failure.message)
  return result.success
}

const rejects = (bytes: Uint8Array, tensor: string, problem: RegExp) => {
  const result = parse(bytes)
  assert.ok(Result.isFailure(result), "expected a SafetensorsError")
  const error = result.failure
  assert.ok(error instanceof SafetensorsError)
  assert.equal(error.file, FILE)
  assert.equal(error.tensor, tensor)
  assert.match(error.problem, problem)
  assert.ok(error.message.startsWith(`${FILE}: `), error.message)
}

const floats = (bytes: Uint8Array, name: string): Float32Array => {
  const entry = parsed(bytes).tensors.get(name)
  assert.ok(entry !== undefined, `no tensor ${name}`)
  return Effect.runSync(floatValues(entry, FILE))
}

const f32 = (shape: ReadonlyArray<number>, begin: number, end: number, dtype = "F32") => ({
  dtype,
  shape,
  data_offsets: [begin, end]
})

describe("safetensors: malformed files", () => {
  test("shorter than the 8-byte header length", () => rejects(new Uint8Array(5), "", /5 bytes: too short/))

  test("header length beyond the file", () =>
    rejects(fileBytes({}, new Uint8Array(4), 1000n), "", /header length 1000 is beyond the end of the file/))

  test("header length of 2^64 − 1 (no overflow into a small number)", () =>
    rejects(fileBytes({}, new Uint8Array(), 0xffffffffffffffffn), "", /beyond the end/))

  test("header not JSON", () => rejects(fileBytes("{not json"), "", /header is not JSON/))

  test("header JSON but not an object", () => rejects(fileBytes("[1, 2]"), "", /not a JSON object/))

  test("unknown dtype", () => rejects(fileBytes({ w: f32([1], 0, 4, "F33") }, new Uint8Array(4)), "w", /unknown dtype 'F33'/))

  test("bad shape", () => rejects(fileBytes({ w: f32([-1], 0, 4) }, new Uint8Array(4)), "w", /shape/))

  test("offsets outside the data", () =>
    rejects(fileBytes({ w: f32([4], 0, 16) }, new Uint8Array(8)), "w", /\[0, 16\] lie outside the data \(8 bytes\)/))

  test("offsets that end before they begin", () =>
    rejects(fileBytes({ w: f32([0], 8, 4) }, new Uint8Array(8)), "w", /end before they begin/))

  test("byte length ≠ shape product × dtype size", () =>
    rejects(fileBytes({ w: f32([3], 0, 8) }, new Uint8Array(8)), "w", /holds 8 bytes, but shape \[3\] of F32 needs 12/))

  test("overlapping tensors", () =>
    rejects(fileBytes({ a: f32([2], 0, 8), b: f32([2], 4, 12) }, new Uint8Array(12)), "b", /overlap tensor 'a'/))

  test("a gap between tensors", () =>
    rejects(fileBytes({ a: f32([1], 0, 4), b: f32([1], 8, 12) }, new Uint8Array(12)), "b", /gap after byte 4/))

  test("bytes after the last tensor", () =>
    rejects(fileBytes({ a: f32([1], 0, 4) }, new Uint8Array(8)), "", /4 bytes of data after the last tensor/))

  test("a dtype carl does not decode is named when its values are asked for", () => {
    const entry = parsed(fileBytes({ m: f32([2], 0, 2, "U8") }, new Uint8Array(2))).tensors.get("m")
    assert.ok(entry !== undefined)
    const result = Effect.runSync(Effect.result(floatValues(entry, FILE)))
    assert.ok(Result.isFailure(result))
    assert.match(result.failure.message, /hand-made\.safetensors: tensor 'm': dtype U8 is not a float type/)
  })
})

describe("safetensors: dtypes", () => {
  test("header listed out of data order is valid; __metadata__ is not a tensor", () => {
    const data = new Uint8Array(new Float32Array([1.5, -2.25]).buffer)
    const bytes = fileBytes({ b: f32([1], 4, 8), __metadata__: { format: "pt" }, a: f32([1], 0, 4) }, data)
    const file = parsed(bytes)
    assert.deepEqual([...file.tensors.keys()].sort(), ["a", "b"])
    assert.deepEqual(file.metadata, { format: "pt" })
    assert.deepEqual([...floats(bytes, "a")], [1.5])
    assert.deepEqual([...floats(bytes, "b")], [-2.25])
  })

  test("F32 at an unaligned offset", () => {
    // A 3-byte header puts the data at byte 11.
    const header = JSON.stringify({ w: f32([3], 0, 12) })
    assert.notEqual((8 + header.length) % 4, 0)
    const values = [Math.PI, -0, Number.NEGATIVE_INFINITY]
    const bytes = fileBytes(header, new Uint8Array(new Float32Array(values).buffer))
    const out = floats(bytes, "w")
    assert.equal(out[0], Math.fround(Math.PI))
    assert.ok(Object.is(out[1], -0))
    assert.equal(out[2], Number.NEGATIVE_INFINITY)
  })

  test("F16: 1, −0, ±inf, the smallest subnormal, the largest finite, 1/3, NaN", () => {
    const halves = [0x3c00, 0x8000, 0x7c00, 0xfc00, 0x0001, 0x7bff, 0x3555, 0x7e00, 0xc000]
    const bytes = fileBytes({ h: f32([halves.length], 0, halves.length * 2, "F16") }, littleEndian(2, halves))
    const out = floats(bytes, "h")
    assert.equal(out[0], 1)
    assert.ok(Object.is(out[1], -0))
    assert.equal(out[2], Number.POSITIVE_INFINITY)
    assert.equal(out[3], Number.NEGATIVE_INFINITY)
    assert.equal(out[4], 2 ** -24)
    assert.equal(out[5], 65504)
    assert.equal(out[6], 0.333251953125)
    assert.ok(Number.isNaN(out[7]))
    assert.equal(out[8], -2)
  })

  test("F16: every one of the 65536 halves widens to its exact value", () => {
    const all = Array.from({ length: 65536 }, (_, h) => h)
    const out = floats(fileBytes({ h: f32([65536], 0, 131072, "F16") }, littleEndian(2, all)), "h")
    for (let h = 0; h < 65536; h++) {
      const sign = h & 0x8000 ? -1 : 1
      const exponent = (h >> 10) & 0x1f
      const mantissa = h & 0x3ff
      const exact =
        exponent === 0x1f
          ? mantissa === 0 ? sign * Infinity : Number.NaN
          : exponent === 0 ? sign * mantissa * 2 ** -24 : sign * 2 ** (exponent - 15) * (1 + mantissa / 1024)
      const got = out[h] as number
      if (Number.isNaN(exact)) assert.ok(Number.isNaN(got), `half 0x${h.toString(16)}`)
      else assert.ok(Object.is(got, exact), `half 0x${h.toString(16)}: ${got} ≠ ${exact}`)
      // And back: the writer's rounding is the identity on values that are halves.
      if (!Number.isNaN(exact)) assert.equal(toHalfBits(got), h)
    }
  })

  test("BF16: 1, −0, inf, a subnormal, 3.140625", () => {
    const halves = [0x3f80, 0x8000, 0x7f80, 0x0001, 0x4049]
    const out = floats(fileBytes({ b: f32([5], 0, 10, "BF16") }, littleEndian(2, halves)), "b")
    assert.equal(out[0], 1)
    assert.ok(Object.is(out[1], -0))
    assert.equal(out[2], Number.POSITIVE_INFINITY)
    assert.equal(out[3], 2 ** -133)
    assert.equal(out[4], 3.140625)
  })

  test("I32 and I64 (which must fit in int32)", () => {
    const header = { i: f32([3], 0, 12, "I32"), l: f32([2], 12, 28, "I64"), big: f32([1], 28, 36, "I64") }
    const data = new Uint8Array(36)
    data.set(littleEndian(4, [7, 0xffffffff, 0x80000000]), 0)
    data.set(littleEndian(8, [-5n, 2147483647n]), 12)
    data.set(littleEndian(8, [2n ** 40n]), 28)
    const file = parsed(fileBytes(header, data))
    const get = (name: string) => {
      const entry = file.tensors.get(name)
      assert.ok(entry !== undefined)
      return Effect.runSync(Effect.result(intValues(entry, FILE)))
    }
    const i = get("i")
    const l = get("l")
    assert.ok(Result.isSuccess(i) && Result.isSuccess(l))
    assert.deepEqual([...i.success], [7, -1, -2147483648])
    assert.deepEqual([...l.success], [-5, 2147483647])
    const big = get("big")
    assert.ok(Result.isFailure(big))
    assert.match(big.failure.message, /tensor 'big': element 0 \(1099511627776\) does not fit in int32/)
  })

  test("float32 → float16 and bfloat16 round to nearest, ties to even", () => {
    assert.equal(toHalfBits(1 + 2 ** -11), 0x3c00) // tie, even is down
    assert.equal(toHalfBits(1 + 3 * 2 ** -11), 0x3c02) // tie, even is up
    assert.equal(toHalfBits(1 + 2 ** -11 + 2 ** -20), 0x3c01)
    assert.equal(toHalfBits(65519), 0x7bff)
    assert.equal(toHalfBits(65520), 0x7c00)
    assert.equal(toHalfBits(-1e6), 0xfc00)
    assert.equal(toHalfBits(2 ** -25), 0x0000) // tie between 0 and the smallest subnormal
    assert.equal(toHalfBits(1.5 * 2 ** -25), 0x0001)
    assert.equal(toHalfBits(-(2 ** -30)), 0x8000)
    assert.equal(toHalfBits(2 ** -14 - 2 ** -25), 0x0400) // rounds up out of the subnormals
    assert.equal(toHalfBits(-0), 0x8000)
    assert.equal(toHalfBits(Number.NaN) & 0x7e00, 0x7e00)
    assert.equal(toBfloat16Bits(1 + 2 ** -8), 0x3f80)
    assert.equal(toBfloat16Bits(1 + 3 * 2 ** -8), 0x3f82)
    assert.equal(toBfloat16Bits(3.14159), 0x4049)
    assert.equal(toBfloat16Bits(Number.NEGATIVE_INFINITY), 0xff80)
    assert.equal(toBfloat16Bits(3.4028234663852886e38), 0x7f80) // the largest float rounds to inf
    assert.equal(toBfloat16Bits(Number.NaN) & 0x7fc0, 0x7fc0)
  })
})

describe("safetensors: writer", () => {
  let dir = ""
  after(async () => {
    if (dir !== "") await rm(dir, { recursive: true, force: true })
  })

  const tensors = (): Array<readonly [string, FloatTensorData]> => [
    ["z.last", { shape: [2, 3], values: new Float32Array([1, -0, Infinity, -Infinity, 1e-45, 3.4028234663852886e38]) }],
    ["a.first", { shape: [5], values: new Float32Array([0.1, 0.2, 0.3, -7.5, 2 ** -130]) }],
    ["m.scalar", { shape: [], values: new Float32Array([42]) }],
    ["e.empty", { shape: [0, 4], values: new Float32Array(0) }]
  ]

  test("the header is padded with spaces to 8 bytes and lists tensors sorted by name", () => {
    const bytes = Effect.runSync(encodeSafetensors(tensors(), { metadata: { format: "pt" } }))
    const length = Number(new DataView(bytes.buffer).getBigUint64(0, true))
    assert.equal(length % 8, 0)
    const header = new TextDecoder().decode(bytes.subarray(8, 8 + length))
    assert.match(header, /^\{"__metadata__":\{"format":"pt"\},"a\.first".*"z\.last".*\} *$/)
    const names = Object.keys(JSON.parse(header) as object).filter((name) => name !== "__metadata__")
    assert.deepEqual(names, ["a.first", "e.empty", "m.scalar", "z.last"])
  })

  test("F32 write → read is bit-identical, NaN payloads and −0 included", async () => {
    dir = await mkdtemp(join(tmpdir(), "carl-safetensors-"))
    const withNaN = new Float32Array(4)
    new Uint32Array(withNaN.buffer).set([0x7fc00001, 0xffc12345, 0x00000001, 0x80000000])
    const input = [...tensors(), ["n.nan", { shape: [4], values: withNaN }] as const]
    const path = join(dir, "round-trip.safetensors")
    await Effect.runPromise(writeSafetensors(path, input))
    assert.deepEqual(await readdir(dir), ["round-trip.safetensors"], "no temporary file left behind")
    const file = await Effect.runPromise(readSafetensors(path))
    for (const [name, { shape, values }] of input) {
      const entry = file.tensors.get(name)
      assert.ok(entry !== undefined)
      assert.equal(entry.dtype, "F32")
      assert.deepEqual(entry.shape, shape)
      const back = Effect.runSync(floatValues(entry, path))
      assert.deepEqual(Buffer.from(back.buffer), Buffer.from(values.buffer, values.byteOffset, values.byteLength), name)
    }
  })

  test("F16 and BF16 writes read back as the rounded values", async () => {
    const values = new Float32Array([1, -0, 0.1, 65504, 1e-7, -3.14159, 70000])
    for (const dtype of ["F16", "BF16"] as const) {
      const path = join(dir, `${dtype}.safetensors`)
      await Effect.runPromise(writeSafetensors(path, [["w", { shape: [values.length], values }]], { dtype }))
      const file = await Effect.runPromise(readSafetensors(path))
      const entry = file.tensors.get("w")
      assert.ok(entry !== undefined)
      assert.equal(entry.dtype, dtype)
      const back = Effect.runSync(floatValues(entry, path))
      const round = dtype === "F16" ? toHalfBits : toBfloat16Bits
      back.forEach((value, i) => assert.equal(round(value), round(values[i] as number), `${dtype} element ${i}`))
      assert.ok(Object.is(back[1], -0))
    }
  })

  test("a values/shape mismatch and a failed write are SafetensorsErrors, leaving no file", async () => {
    const bad = await Effect.runPromise(
      Effect.result(writeSafetensors(join(dir, "bad.safetensors"), [["w", { shape: [3], values: new Float32Array(2) }]]))
    )
    assert.ok(Result.isFailure(bad))
    assert.match(bad.failure.message, /bad\.safetensors: tensor 'w': 2 values do not fill shape \[3\]/)
    const nowhere = join(dir, "no-such-folder", "x.safetensors")
    const failed = await Effect.runPromise(Effect.result(writeSafetensors(nowhere, tensors())))
    assert.ok(Result.isFailure(failed))
    assert.match(failed.failure.message, /no-such-folder\/x\.safetensors: cannot write the file \(ENOENT\)/)
    assert.ok(!(await readdir(dir)).some((name) => name.startsWith("bad.") || name.includes(".tmp-")))
  })
})
