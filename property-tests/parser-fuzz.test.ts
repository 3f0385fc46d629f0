/**
 * Fuzzing the parsers of everything carl reads from disk, with fast-check: the safetensors
 * reader, tokenizer.json / tokenizer_config.json, config.json (BERT's and carl's own), the
 * CSV/TSV/JSONL readers and the tar reader under IMDB. Inputs are arbitrary bytes, arbitrary JSON,
 * and valid files mutated (truncated, bytes flipped, garbage inserted, ranges deleted or repeated).
 *
 * The property is the same everywhere: the parser returns a result that holds its invariants, or
 * fails with the repo's tagged error; it never throws anything else (a defect), never takes long
 * (each case must finish in well under a second), and never allocates what a header merely claims.
 * Every property runs with a fixed seed, so a run is reproducible (about 7,000 cases in all).
 */
import assert from "node:assert/strict"
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, before, describe, test } from "node:test"
import { gzipSync } from "node:zlib"
import { Cause, Effect, Exit } from "effect"
import fc from "fast-check"
import { loadConfig } from "../plugins/carl/config-file.ts"
import { decodeConfig } from "../plugins/carl/config.ts"
import { encodeSafetensors, floatValues, parseSafetensors } from "../core/safetensors.ts"
import { parseDelimited, readImdb, readVaCorpus, TarReader, type VaCorpus } from "../plugins/data/index.ts"
import { bertConfigJson, parseBertConfig, readBertConfig } from "../plugins/encoders/bert/checkpoint.ts"
import { decodeJsonObject, TokenizerError, tokenizerFromFiles, type HfTokenizer } from "../plugins/encoders/tokenizer/hf-tokenizer.ts"
import { tinyTokenizerConfigJson, tinyTokenizerJson, TINY_BERT_DIR_CONFIG } from "../test/support/tiny-bert-dir.ts"
import { tarEntry } from "../test/support/tar.ts"

/** Fixed for CI; CARL_FUZZ_SEED and CARL_FUZZ_SCALE (a multiplier of every numRuns) hunt further. */
const SEED = Number(process.env["CARL_FUZZ_SEED"] ?? 7)
const SCALE = Number(process.env["CARL_FUZZ_SCALE"] ?? 1)
const runs = (count: number) => Math.max(1, Math.round(count * SCALE))
/** Each case's budget: a parser that is quadratic (or worse) in its input shows up here. */
const CASE_MS = 1000

// ---------------------------------------------------------------------------------------------
// The property's two outcomes

/**
 * Runs `effect`, timing it, and returns its value, or undefined when it failed with a tagged
 * error of one of `tags`. Anything else — a defect, another error, a slow case — fails the test.
 */
const settle = async <A, E>(effect: Effect.Effect<A, E>, tags: ReadonlyArray<string>): Promise<A | undefined> => {
  const started = performance.now()
  const exit = await Effect.runPromiseExit(effect)
  const ms = performance.now() - started
  assert.ok(ms < CASE_MS, `took ${ms.toFixed(0)} ms`)
  return outcomeOf(exit, tags)
}

const settleSync = <A, E>(effect: Effect.Effect<A, E>, tags: ReadonlyArray<string>): A | undefined => {
  const started = performance.now()
  const exit = Effect.runSyncExit(effect)
  const ms = performance.now() - started
  assert.ok(ms < CASE_MS, `took ${ms.toFixed(0)} ms`)
  return outcomeOf(exit, tags)
}

const outcomeOf = <A, E>(exit: Exit.Exit<A, E>, tags: ReadonlyArray<string>): A | undefined => {
  if (Exit.isSuccess(exit)) return exit.value
  assert.ok(!Cause.hasDies(exit.cause), `a defect, not a tagged error:\n${Cause.pretty(exit.cause)}`)
  const error = Cause.squash(exit.cause)
  const tag = (error as { readonly _tag?: unknown })._tag
  assert.ok(typeof tag === "string" && tags.includes(tag), `expected one of ${tags.join(", ")}, got ${String(tag)}: ${String(error)}`)
  const message = (error as Error).message
  assert.ok(!/[\u0000-\u001f\u007f]/.test(message), `a control character in the message: ${JSON.stringify(message)}`)
  return undefined
}

// ---------------------------------------------------------------------------------------------
// Mutations of a valid file

/** One edit; positions are fractions of the length, so one mutation fits any input. */
interface Mutation {
  readonly kind: "truncate" | "flip" | "insert" | "delete" | "repeat" | "overwrite"
  readonly at: number
  readonly mask: number
  readonly length: number
  readonly bytes: Uint8Array
}

const garbage = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 16 }),
  fc.constantFrom(...["\n", "\r\n", '"', ",", "\t", "{", "}", "[", "]", ":", "\\", "\u0000", "1e999", "-", "NaN", "\uFEFF"].map((text) => new TextEncoder().encode(text))),
  fc.constantFrom(Uint8Array.of(0xff), Uint8Array.of(0xc3), Uint8Array.of(0xed, 0xa0, 0x80), Uint8Array.of(0xf0, 0x9f))
)

const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom("truncate", "flip", "flip", "insert", "delete", "repeat", "overwrite"),
  at: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
  mask: fc.integer({ min: 1, max: 255 }),
  length: fc.integer({ min: 1, max: 64 }),
  bytes: garbage
})

const applyMutation = (input: Uint8Array, m: Mutation): Uint8Array => {
  const at = Math.floor(m.at * (input.length + 1))
  const before = input.subarray(0, at)
  switch (m.kind) {
    case "truncate":
      return input.slice(0, at)
    case "flip": {
      const out = input.slice()
      const where = Math.min(at, out.length - 1)
      if (where >= 0) out[where] = (out[where] ?? 0) ^ m.mask
      return out
    }
    case "insert":
      return Buffer.concat([before, m.bytes, input.subarray(at)])
    case "delete":
      return Buffer.concat([before, input.subarray(at + m.length)])
    case "repeat":
      return Buffer.concat([input.subarray(0, at + m.length), input.subarray(at)])
    case "overwrite": {
      const out = input.slice()
      out.set(m.bytes.subarray(0, Math.max(0, out.length - at)), Math.min(at, out.length))
      return out
    }
  }
}

/** `valid` with one to four mutations applied in turn. */
const mutationsOf = (valid: Uint8Array): fc.Arbitrary<Uint8Array> =>
  fc.array(mutation, { minLength: 1, maxLength: 4 }).map((mutations) => mutations.reduce(applyMutation, valid))

/** A JSON value with the awkward cases weighted in: huge, negative, fractional, non-finite-looking. */
const awkwardJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(0, -1, 1.5, 1e15, 2 ** 53 + 2, 1e300, -1e300, Number.MAX_SAFE_INTEGER, "", "1", "[PAD]", null, [], {}, [1, 2], { content: "[PAD]" })
)

/** `object` with the value at a random path (of its own keys, up to two levels) replaced. */
const jsonMutationsOf = (object: Record<string, unknown>): fc.Arbitrary<Record<string, unknown>> => {
  const paths: Array<Array<string>> = []
  for (const [key, value] of Object.entries(object)) {
    paths.push([key])
    if (typeof value === "object" && value !== null && !Array.isArray(value)) for (const inner of Object.keys(value)) paths.push([key, inner])
  }
  return fc.tuple(fc.constantFrom(...paths), awkwardJson, fc.boolean()).map(([path, value, remove]) => {
    const copy = structuredClone(object)
    let at: Record<string, unknown> = copy
    for (const key of path.slice(0, -1)) at = at[key] as Record<string, unknown>
    const last = path.at(-1) ?? ""
    if (remove) delete at[last]
    else at[last] = value
    return copy
  })
}

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)

let scratch = ""
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), "carl-fuzz-"))
})
after(async () => {
  await rm(scratch, { recursive: true, force: true })
})

// ---------------------------------------------------------------------------------------------
// safetensors

const DTYPE_BYTES: Readonly<Record<string, number>> = { F32: 4, F16: 2, BF16: 2, I32: 4, I64: 8, U8: 1, BOOL: 1, F64: 8 }

/** A parsed file's invariants: every view is exactly its shape's bytes, and the views tile the data. */
const checkParsed = (bytes: Uint8Array, parsed: { readonly tensors: ReadonlyMap<string, { readonly dtype: string; readonly shape: ReadonlyArray<number>; readonly bytes: Uint8Array }> }) => {
  let total = 0
  for (const [name, entry] of parsed.tensors) {
    const size = DTYPE_BYTES[entry.dtype]
    if (size !== undefined) assert.equal(entry.bytes.length, entry.shape.reduce((a, b) => a * b, 1) * size, name)
    assert.ok(entry.shape.every((dimension) => Number.isSafeInteger(dimension) && dimension >= 0), name)
    total += entry.bytes.length
    if (entry.dtype === "F32" || entry.dtype === "F16" || entry.dtype === "BF16") {
      const values = settleSync(floatValues(entry as Parameters<typeof floatValues>[0], "fuzz.safetensors"), ["SafetensorsError"])
      assert.ok(values !== undefined && values.length * (size ?? 0) === entry.bytes.length, name)
    }
  }
  assert.ok(total <= bytes.length)
}

const validSafetensors = Effect.runSync(
  encodeSafetensors(
    [
      ["embeddings.word_embeddings.weight", { shape: [3, 4], values: Float32Array.from({ length: 12 }, (_, i) => i / 7) }],
      ["pooler.dense.bias", { shape: [4], values: Float32Array.of(1, -2, 3.5, 0) }],
      ["scalar", { shape: [], values: Float32Array.of(42) }]
    ],
    { metadata: { format: "pt" } }
  )
)

const headerFile = (header: unknown, dataLength: number): Uint8Array => {
  const text = utf8(JSON.stringify(header) ?? "null")
  const out = new Uint8Array(8 + text.length + dataLength)
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true)
  out.set(text, 8)
  return out
}

const dimension = fc.oneof(fc.integer({ min: 0, max: 8 }), fc.constantFrom(-1, 1.5, 1e8, 2 ** 40, 2 ** 53, 1e300))
const headerEntry = fc.record(
  {
    dtype: fc.oneof(fc.constantFrom("F32", "F16", "BF16", "I32", "I64", "U8", "F64", "F24", ""), fc.string()),
    shape: fc.oneof(fc.array(dimension, { maxLength: 4 }), awkwardJson),
    data_offsets: fc.oneof(fc.tuple(fc.integer({ min: 0, max: 256 }), fc.integer({ min: 0, max: 256 })), fc.tuple(fc.constantFrom(0, 1e15, 2 ** 60), fc.constantFrom(1e15, 2 ** 64, -4)), awkwardJson)
  },
  { requiredKeys: [] }
)

describe("safetensors", () => {
  test("arbitrary bytes: parsed with its invariants, or a SafetensorsError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1024 }), (bytes) => {
        const parsed = settleSync(parseSafetensors(bytes, "fuzz.safetensors"), ["SafetensorsError"])
        if (parsed !== undefined) checkParsed(bytes, parsed)
      }),
      { seed: SEED, numRuns: runs(500) }
    )
  })

  test("arbitrary headers (huge shapes and offsets included): never an allocation a header claims", () => {
    const arrayBuffers = process.memoryUsage().arrayBuffers
    fc.assert(
      fc.property(fc.dictionary(fc.oneof(fc.string(), fc.constant("__metadata__")), fc.oneof(headerEntry, awkwardJson), { maxKeys: 4 }), fc.integer({ min: 0, max: 256 }), (header, dataLength) => {
        const bytes = headerFile(header, dataLength)
        const parsed = settleSync(parseSafetensors(bytes, "fuzz.safetensors"), ["SafetensorsError"])
        if (parsed !== undefined) checkParsed(bytes, parsed)
      }),
      { seed: SEED, numRuns: runs(800) }
    )
    assert.ok(process.memoryUsage().arrayBuffers - arrayBuffers < 64 * 2 ** 20, "array buffers grew by more than 64 MB")
  })

  test("a header length of up to 2^64 - 1: refused at once", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (length) => {
        const bytes = new Uint8Array(validSafetensors)
        new DataView(bytes.buffer).setBigUint64(0, length, true)
        settleSync(parseSafetensors(bytes, "fuzz.safetensors"), ["SafetensorsError"])
      }),
      { seed: SEED, numRuns: runs(300) }
    )
  })

  test("a valid file mutated: parsed with its invariants, or a SafetensorsError", () => {
    const parsed = settleSync(parseSafetensors(validSafetensors, "valid.safetensors"), [])
    assert.equal(parsed?.tensors.size, 3)
    fc.assert(
      fc.property(mutationsOf(validSafetensors), (bytes) => {
        const result = settleSync(parseSafetensors(bytes, "fuzz.safetensors"), ["SafetensorsError"])
        if (result !== undefined) checkParsed(bytes, result)
      }),
      { seed: SEED, numRuns: runs(800) }
    )
  })
})

// ---------------------------------------------------------------------------------------------
// tokenizer.json and tokenizer_config.json

const TOKENIZER_DIR = "/fuzz/model"
const validTokenizerBytes = utf8(JSON.stringify(tinyTokenizerJson()))
const validTokenizerConfig = tinyTokenizerConfigJson()

/** A loaded tokenizer must encode without throwing anything but its own TokenizerError, to ids it has. */
const checkTokenizer = (tokenizer: HfTokenizer) => {
  assert.ok(Number.isInteger(tokenizer.padTokenId) && tokenizer.padTokenId >= 0 && tokenizer.padTokenId < 2 ** 31)
  assert.ok(Number.isInteger(tokenizer.vocabularySize) && tokenizer.vocabularySize >= 0)
  for (const texts of [["i love this movie!", ""], ["Ünïcödé ✓ 😀", "a".repeat(300)]]) {
    try {
      const batch = tokenizer.encodeBatch(texts, { maxLength: 16 })
      for (const id of batch.ids) assert.ok(id >= 0 && (id < tokenizer.vocabularySize || id === tokenizer.padTokenId), `id ${id}`)
    } catch (error) {
      if (error instanceof RangeError && /maxLength/.test(error.message)) continue
      assert.ok(error instanceof TokenizerError, `encoding threw ${String(error)}`)
    }
  }
}

const loadFrom = (tokenizerBytes: Uint8Array, config: Record<string, unknown> | undefined) =>
  decodeJsonObject(tokenizerBytes, join(TOKENIZER_DIR, "tokenizer.json")).pipe(
    Effect.flatMap((tokenizer) => tokenizerFromFiles(TOKENIZER_DIR, { tokenizer, config }))
  )

describe("tokenizer.json and tokenizer_config.json", () => {
  test("the valid files load", () => {
    const tokenizer = settleSync(loadFrom(validTokenizerBytes, validTokenizerConfig), [])
    assert.ok(tokenizer !== undefined)
    assert.deepEqual(tokenizer.encode("i love this movie!"), [2, 27, 5, 7, 8, 15, 3])
  })

  test("tokenizer.json's bytes mutated: a tokenizer that encodes, or a TokenizerError", () => {
    fc.assert(
      fc.property(mutationsOf(validTokenizerBytes), (bytes) => {
        const tokenizer = settleSync(loadFrom(bytes, validTokenizerConfig), ["TokenizerError"])
        if (tokenizer !== undefined) checkTokenizer(tokenizer)
      }),
      { seed: SEED, numRuns: runs(300) }
    )
  })

  test("tokenizer.json's values replaced by arbitrary JSON", () => {
    const valid = tinyTokenizerJson()
    const model = valid["model"] as Record<string, unknown>
    const vocab = model["vocab"] as Record<string, unknown>
    const vocabEdits = fc.tuple(fc.constantFrom(...Object.keys(vocab)), awkwardJson).map(([token, id]) => ({ ...valid, model: { ...model, vocab: { ...vocab, [token]: id } } }))
    fc.assert(
      fc.property(fc.oneof(jsonMutationsOf(valid), vocabEdits), (json) => {
        const tokenizer = settleSync(loadFrom(utf8(JSON.stringify(json)), validTokenizerConfig), ["TokenizerError"])
        if (tokenizer !== undefined) checkTokenizer(tokenizer)
      }),
      { seed: SEED, numRuns: runs(300) }
    )
  })

  test("tokenizer_config.json arbitrary", () => {
    fc.assert(
      fc.property(fc.oneof(jsonMutationsOf(validTokenizerConfig), fc.dictionary(fc.constantFrom("pad_token", "model_max_length", "unk_token", "x"), awkwardJson)), (config) => {
        const tokenizer = settleSync(loadFrom(validTokenizerBytes, config), ["TokenizerError"])
        if (tokenizer !== undefined) {
          checkTokenizer(tokenizer)
          const max = tokenizer.modelMaxLength
          assert.ok(max === undefined || (Number.isInteger(max) && max > 0))
        }
      }),
      { seed: SEED, numRuns: runs(200) }
    )
  })
})

// ---------------------------------------------------------------------------------------------
// config.json (BERT) and carl's --config

const validBertConfig = { ...bertConfigJson(TINY_BERT_DIR_CONFIG), architectures: ["BertModel"] }

describe("config.json and --config", () => {
  test("BERT config.json values arbitrary: a config whose sizes are positive integers, or a ConfigError", () => {
    fc.assert(
      fc.property(fc.oneof(jsonMutationsOf(validBertConfig), awkwardJson), (raw) => {
        const config = settleSync(parseBertConfig(raw, "fuzz/config.json"), ["ConfigError"])
        if (config === undefined) return
        for (const size of [config.vocabSize, config.hiddenSize, config.numHiddenLayers, config.numAttentionHeads, config.intermediateSize, config.maxPositionEmbeddings, config.typeVocabSize]) {
          assert.ok(Number.isSafeInteger(size) && size > 0, String(size))
        }
        assert.equal(config.hiddenSize % config.numAttentionHeads, 0)
        assert.ok(Number.isFinite(config.layerNormEps) && config.layerNormEps > 0)
      }),
      { seed: SEED, numRuns: runs(600) }
    )
  })

  test("BERT config.json bytes mutated, read from a file", async () => {
    const dir = join(scratch, "bert-config")
    await mkdir(dir, { recursive: true })
    await fc.assert(
      fc.asyncProperty(mutationsOf(utf8(JSON.stringify(validBertConfig, null, 2))), async (bytes) => {
        await writeFile(join(dir, "config.json"), bytes)
        await settle(readBertConfig(dir), ["ConfigError"])
      }),
      { seed: SEED, numRuns: runs(100) }
    )
  })

  test("carl's configuration: arbitrary values decode or name the field", () => {
    const valid = { seed: 3, training: { batchSize: 8, epochs: 1 }, optimizer: { learningRate: 1e-4 }, pgd: { epsilon: 1e-8 } }
    fc.assert(
      fc.property(fc.oneof(jsonMutationsOf(valid), awkwardJson), (raw) => {
        const config = settleSync(decodeConfig(raw, "fuzz.json"), ["ConfigError"])
        if (config !== undefined) assert.ok(Number.isSafeInteger(config.training.batchSize) && config.training.batchSize > 0)
      }),
      { seed: SEED, numRuns: runs(600) }
    )
  })

  test("carl's configuration file mutated, through loadConfig", async () => {
    const file = join(scratch, "carl-config.json")
    await fc.assert(
      fc.asyncProperty(mutationsOf(utf8('{"seed": 3, "training": {"batchSize": 8}, "model": {"pooling": "mean"}}')), async (bytes) => {
        await writeFile(file, bytes)
        await settle(loadConfig(file, {}), ["ConfigError"])
      }),
      { seed: SEED, numRuns: runs(100) }
    )
  })
})

// ---------------------------------------------------------------------------------------------
// CSV, TSV and JSONL

const VALID_TABLES = {
  csv: 'text,v,a,split\nhello there,3,4,train\n"a ""quoted"", field",1.5,2,dev\n"two\nlines",5,1,\nplain,2.25,3.75,test\n',
  tsv: "text\tv\ta\tsplit\nhello there\t3\t4\ttrain\nno tabs\t1.5\t2\tdev\n\"quoted\"\t5\t1\t\nplain\t2.25\t3.75\ttest\n",
  jsonl: '{"text":"hello there","v":3,"a":4,"split":"train"}\n{"text":"x","v":"1.5","a":2,"split":""}\n\n{"text":"é ✓","v":5,"a":1,"split":"test"}\n'
} as const

/** A corpus read must hold: labels normalised into [−1, 1], every row an example or a counted skip. */
const checkCorpus = (corpus: VaCorpus) => {
  for (const example of corpus.examples) {
    assert.ok(example.valence >= -1 && example.valence <= 1 && example.arousal >= -1 && example.arousal <= 1)
    assert.ok(example.text.trim() !== "")
  }
  const skipped = Object.values(corpus.skipped).reduce((a, b) => a + b, 0)
  assert.equal(corpus.examples.length + skipped, corpus.rows)
  assert.ok(corpus.examples.length > 0)
}

describe("CSV, TSV and JSONL", () => {
  test("parseDelimited on arbitrary text: records with their line numbers, or a problem on a line", () => {
    const text = fc.array(fc.constantFrom("a", "b", " ", ",", "\t", '"', '""', "\n", "\r\n", "\r", "é", "\u0000"), { maxLength: 200 }).map((pieces) => pieces.join(""))
    fc.assert(
      fc.property(fc.oneof(text, fc.string({ maxLength: 200 })), fc.constantFrom(",", "\t") as fc.Arbitrary<"," | "\t">, fc.constantFrom("rfc4180", "none") as fc.Arbitrary<"rfc4180" | "none">, (input, delimiter, quoting) => {
        const started = performance.now()
        const parsed = parseDelimited(input, { delimiter, quoting })
        assert.ok(performance.now() - started < CASE_MS)
        const lines = input.split("\n").length
        if (parsed._tag === "Failure") {
          assert.ok(parsed.failure.line >= 1 && parsed.failure.line <= lines)
          assert.equal(quoting, "rfc4180", "without quoting every text splits")
          return
        }
        let previous = 0
        for (const record of parsed.success) {
          assert.ok(record.fields.length >= 1 && record.fields.length === record.fieldLines.length)
          assert.ok(record.line > previous && record.line <= lines, `line ${record.line} after ${previous}`)
          previous = record.line
        }
      }),
      { seed: SEED, numRuns: runs(1500) }
    )
  })

  for (const layout of ["csv", "tsv", "jsonl"] as const) {
    test(`${layout.toUpperCase()} files mutated: a corpus with its invariants, or a DataError`, async () => {
      const file = join(scratch, `fuzz.${layout}`)
      await writeFile(file, VALID_TABLES[layout])
      const options = (skipBadRows: boolean) => ({ format: layout, textColumn: "text", valenceColumn: "v", arousalColumn: "a", splitColumn: "split", scale: { min: 1, max: 5 }, skipBadRows })
      const valid = await settle(readVaCorpus(file, options(false)), [])
      assert.equal(valid?.examples.length, layout === "jsonl" ? 3 : 4)
      await fc.assert(
        fc.asyncProperty(mutationsOf(utf8(VALID_TABLES[layout])), fc.boolean(), async (bytes, skipBadRows) => {
          await writeFile(file, bytes)
          const corpus = await settle(readVaCorpus(file, options(skipBadRows)), ["DataError"])
          if (corpus !== undefined) checkCorpus(corpus)
        }),
        { seed: SEED, numRuns: runs(120) }
      )
    })
  }
})

// ---------------------------------------------------------------------------------------------
// tar and IMDB

const validTar = Buffer.concat([
  tarEntry("aclImdb/train/pos/0_9.txt", "a good film"),
  tarEntry("aclImdb/train/neg/1_2.txt", "a bad film"),
  tarEntry("aclImdb/test/pos/2_8.txt", "lovely"),
  tarEntry("aclImdb/test/neg/3_1.txt", "awful"),
  Buffer.alloc(1024)
])

describe("tar and IMDB", () => {
  test("the tar reader on mutated archives fed in arbitrary chunks: entries or a problem, never a throw", () => {
    fc.assert(
      fc.property(fc.oneof(mutationsOf(validTar), fc.uint8Array({ maxLength: 2048 })), fc.integer({ min: 1, max: 700 }), (archive, chunk) => {
        const started = performance.now()
        const reader = new TarReader({
          header: (header) => {
            assert.ok(Number.isFinite(header.size) && header.size >= 0)
            return header.kind === "file"
          },
          body: (header, body) => {
            assert.equal(body.length, header.size)
            return undefined
          }
        })
        let problem = undefined as ReturnType<TarReader["push"]>
        for (let at = 0; at < archive.length && problem === undefined; at += chunk) problem = reader.push(archive.subarray(at, at + chunk))
        if (problem === undefined) problem = reader.finish()
        if (problem !== undefined) assert.ok(problem.problem.length > 0 && problem.offset >= 0)
        assert.ok(performance.now() - started < CASE_MS)
      }),
      { seed: SEED, numRuns: runs(600) }
    )
  })

  test("readImdb on mutated .tar.gz files: a corpus or a DataError", async () => {
    const file = join(scratch, "imdb.tar.gz")
    await fc.assert(
      fc.asyncProperty(fc.oneof(mutationsOf(validTar).map((tar) => gzipSync(tar)), mutationsOf(gzipSync(validTar))), async (bytes) => {
        await writeFile(file, bytes)
        const corpus = await settle(readImdb(file), ["DataError"])
        if (corpus !== undefined) {
          assert.ok(corpus.splits.train.length > 0 && corpus.splits.test.length > 0)
          for (const example of [...corpus.splits.train, ...corpus.splits.test]) assert.ok(example.text.trim() !== "")
        }
      }),
      { seed: SEED, numRuns: runs(100) }
    )
  })
})
