/**
 * Bad model folders for `--model <dir>` (`carl embed`, `carl eval`, `carl train`): config.json,
 * model.safetensors (and a sharded index), tokenizer.json and tokenizer_config.json, each damaged
 * in one place inside an otherwise valid tiny BERT folder (test/support/tiny-bert-dir.ts). Every
 * case ends in one tagged error naming the file at fault, writes no output and allocates nothing
 * a header merely claims. All cases run through embedCommand in-process, some through evalCommand
 * and trainCommand, and a few through the CLI.
 */
import assert from "node:assert/strict"
import { cp, mkdir, readFile, rm, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { before, describe, test } from "node:test"
import * as tf from "@tensorflow/tfjs"
import { Effect } from "effect"
import { defaultConfig } from "../../plugins/carl/config.ts"
import { embedCommand } from "../../pipelines/embed-command.ts"
import { evalCommand } from "../../pipelines/eval/eval-command.ts"
import { trainCommand } from "../../pipelines/train/train-command.ts"
import { asCommand } from "../support/as-command.ts"
import { ABSENT, binaryGarbage, bytes, expectCleanCliFailure, expectCleanFailure, FOLDER, startEarly, SYMLINK_LOOP, writeBadFile, type BadFile } from "../support/run-cli.ts"
import { evalCommandOptions, trainCommandOptions, VA_COLUMNS } from "../support/run-options.ts"
import { temporaryFolder } from "../support/temp-folder.ts"
import { tinyTokenizerJson, TINY_BERT_DIR_CONFIG, writeTinyBertDir } from "../support/tiny-bert-dir.ts"
import { writeTinyEvalData } from "../support/tiny-eval-data.ts"

type Json = Record<string, unknown>

/** What the valid folder holds, to build each damaged file from. */
interface Valid {
  readonly config: Json
  readonly tokenizer: Json
  readonly weights: Buffer
}

/** A safetensors file: the 8-byte length, the header as given, then the data. */
const safetensors = (header: string | Buffer | Json, data: Buffer = Buffer.alloc(0), length?: bigint): Buffer => {
  const text = Buffer.isBuffer(header) ? header : Buffer.from(typeof header === "string" ? header : JSON.stringify(header))
  const prefix = Buffer.alloc(8)
  prefix.writeBigUInt64LE(length ?? BigInt(text.length))
  return Buffer.concat([prefix, text, data])
}

/** The valid weights with their header edited as JSON (the data left as it is). */
const editHeader = (weights: Buffer, edit: (header: Record<string, Json>) => void): Buffer => {
  const length = Number(weights.readBigUInt64LE(0))
  const header = JSON.parse(weights.subarray(8, 8 + length).toString("utf8")) as Record<string, Json>
  edit(header)
  return safetensors(header, weights.subarray(8 + length))
}

const entry = (header: Record<string, Json>, name: string): Json => {
  const found = header[name]
  assert.ok(found !== undefined, name)
  return found
}

interface ModelCase {
  readonly name: string
  readonly file: "config.json" | "model.safetensors" | "model.safetensors.index.json" | "tokenizer.json" | "tokenizer_config.json" | "."
  readonly content: (valid: Valid) => BadFile
  /** Also delete model.safetensors (for the sharded-index cases). */
  readonly sharded?: boolean
  /** What the one line names: the file's path by default, or just the folder. */
  readonly names?: "folder"
  readonly problem: ReadonlyArray<string | RegExp>
}

const WORD_EMBEDDINGS = "embeddings.word_embeddings.weight"

const CASES: ReadonlyArray<ModelCase> = [
  // config.json.
  { name: "config.json empty", file: "config.json", content: () => "", problem: ["not valid JSON: Unexpected end of JSON input"] },
  { name: "config.json truncated", file: "config.json", content: (valid) => JSON.stringify(valid.config).slice(0, 40), problem: ["not valid JSON"] },
  { name: "config.json binary garbage", file: "config.json", content: () => binaryGarbage(), problem: [/line 1: invalid UTF-8 at byte \d+/] },
  { name: "config.json in invalid UTF-8", file: "config.json", content: () => bytes('{"model_type": "be', [0xff], 'rt"}'), problem: ["line 1: invalid UTF-8 at byte 18"] },
  { name: "config.json a list", file: "config.json", content: () => "[1, 2]", problem: ["not a JSON object"] },
  { name: "config.json a field of the wrong type", file: "config.json", content: (valid) => JSON.stringify({ ...valid.config, hidden_size: "32" }), problem: ["field 'hidden_size': Expected number, got \"32\""] },
  { name: "config.json a field missing", file: "config.json", content: (valid) => JSON.stringify({ ...valid.config, vocab_size: undefined }), problem: ["field 'vocab_size': Missing key"] },
  { name: "config.json 1e999 (Infinity)", file: "config.json", content: (valid) => JSON.stringify(valid.config).replace('"hidden_size":32', '"hidden_size":1e999'), problem: ["field 'hidden_size': Expected an integer, got Infinity"] },
  { name: "config.json NaN (not JSON)", file: "config.json", content: (valid) => JSON.stringify(valid.config).replace('"hidden_size":32', '"hidden_size":NaN'), problem: ["not valid JSON"] },
  { name: "config.json a fractional size", file: "config.json", content: (valid) => JSON.stringify({ ...valid.config, intermediate_size: 64.5 }), problem: ["field 'intermediate_size': Expected an integer, got 64.5"] },
  { name: "config.json a negative size", file: "config.json", content: (valid) => JSON.stringify({ ...valid.config, num_hidden_layers: -2 }), problem: ["field 'num_hidden_layers'", "got -2"] },
  { name: "config.json 10^12 layers", file: "config.json", content: (valid) => JSON.stringify({ ...valid.config, num_hidden_layers: 1e12 }), names: "folder", problem: ["model.safetensors: tensor 'encoder.layer.2.attention.self.query.weight': missing (config.json has num_hidden_layers 1000000000000, the weights hold 2 layers)"] },
  { name: "config.json a vocabulary of 10^15", file: "config.json", content: (valid) => JSON.stringify({ ...valid.config, vocab_size: 1e15 }), names: "folder", problem: [`model.safetensors: tensor '${WORD_EMBEDDINGS}': shape [128, 32], but config.json implies [1000000000000000, 32]`] },
  { name: "config.json heads that do not divide the width", file: "config.json", content: (valid) => JSON.stringify({ ...valid.config, num_attention_heads: 5 }), problem: ["field 'hidden_size': 32 is not a multiple of num_attention_heads (5)"] },
  { name: "config.json a model type carl does not compute", file: "config.json", content: (valid) => JSON.stringify({ ...valid.config, model_type: "gpt2" }), problem: ["field 'model_type'"] },
  { name: "config.json a symlink loop", file: "config.json", content: () => SYMLINK_LOOP, problem: ["cannot read the file (ELOOP)"] },
  { name: "config.json a folder", file: "config.json", content: () => FOLDER, problem: ["cannot read the file (EISDIR)"] },
  { name: "config.json missing", file: "config.json", content: () => ABSENT, problem: ["cannot read the file (ENOENT)"] },
  // model.safetensors.
  { name: "weights empty", file: "model.safetensors", content: () => "", problem: ["0 bytes: too short for the 8-byte header length"] },
  { name: "weights 7 bytes", file: "model.safetensors", content: () => Buffer.alloc(7), problem: ["7 bytes: too short"] },
  { name: "weights truncated in the data", file: "model.safetensors", content: (valid) => valid.weights.subarray(0, valid.weights.length >> 1), problem: [/tensor '[^']+': data_offsets \[\d+, \d+\] lie outside the data/] },
  { name: "weights truncated in the header", file: "model.safetensors", content: (valid) => valid.weights.subarray(0, 100), problem: [/header length \d+ is beyond the end of the file \(100 bytes\)/] },
  { name: "a header length of 10^15", file: "model.safetensors", content: (valid) => safetensors("{}", valid.weights.subarray(8), 10n ** 15n), problem: ["header length 1000000000000000 is beyond the end of the file"] },
  { name: "a header length of 2^64 - 1", file: "model.safetensors", content: () => safetensors("{}", Buffer.alloc(0), 2n ** 64n - 1n), problem: ["header length 18446744073709551615 is beyond the end of the file"] },
  { name: "a header that is not JSON", file: "model.safetensors", content: () => safetensors('{"a": '), problem: ["header is not JSON"] },
  { name: "a header whose JSON error quotes control characters", file: "model.safetensors", content: () => safetensors('{"a":\n\r\u001b[2J}'), problem: ["header is not JSON: Unexpected token '\\u001b'", "\\n\\r"] },
  { name: "a header in invalid UTF-8", file: "model.safetensors", content: () => safetensors(bytes('{"', [0xff], '": 1}')), problem: ["header is not JSON"] },
  { name: "a header that is a list", file: "model.safetensors", content: () => safetensors("[]"), problem: ["header is not a JSON object"] },
  {
    name: "a tensor claiming 10^15 bytes",
    file: "model.safetensors",
    content: () => safetensors({ [WORD_EMBEDDINGS]: { dtype: "F32", shape: [250_000_000_000_000], data_offsets: [0, 1e15] } }),
    problem: [`tensor '${WORD_EMBEDDINGS}': data_offsets [0, 1000000000000000] lie outside the data (0 bytes)`]
  },
  {
    name: "a shape of 10^16 elements in 4 bytes",
    file: "model.safetensors",
    content: () => safetensors({ [WORD_EMBEDDINGS]: { dtype: "F32", shape: [1e8, 1e8], data_offsets: [0, 4] } }, Buffer.alloc(4)),
    problem: [`tensor '${WORD_EMBEDDINGS}': holds 4 bytes, but shape [100000000, 100000000] of F32 needs`]
  },
  { name: "offsets past 2^53", file: "model.safetensors", content: () => safetensors({ x: { dtype: "F32", shape: [1], data_offsets: [0, 2 ** 60] } }), problem: ["tensor 'x': data_offsets is not a pair of integers ≥ 0"] },
  { name: "a negative dimension", file: "model.safetensors", content: () => safetensors({ x: { dtype: "F32", shape: [-1], data_offsets: [0, 0] } }), problem: ["tensor 'x': shape is not a list of integers ≥ 0"] },
  { name: "an unknown dtype", file: "model.safetensors", content: (valid) => editHeader(valid.weights, (header) => (entry(header, "pooler.dense.bias").dtype = "F24")), problem: ["tensor 'pooler.dense.bias': unknown dtype 'F24'"] },
  { name: "integer weights", file: "model.safetensors", content: (valid) => editHeader(valid.weights, (header) => (entry(header, "pooler.dense.bias").dtype = "I32")), problem: ["tensor 'pooler.dense.bias': dtype I32 is not a float type"] },
  {
    name: "two tensors over the same bytes",
    file: "model.safetensors",
    content: (valid) => editHeader(valid.weights, (header) => (entry(header, "pooler.dense.bias").data_offsets = [0, 128])),
    problem: [/overlap tensor|leave a gap/]
  },
  { name: "bytes after the last tensor", file: "model.safetensors", content: (valid) => Buffer.concat([valid.weights, Buffer.alloc(4)]), problem: ["4 bytes of data after the last tensor"] },
  { name: "a tensor missing", file: "model.safetensors", content: (valid) => editHeader(valid.weights, (header) => delete header["pooler.dense.bias"]), problem: [/leave a gap|pooler\.dense\.bias': missing/] },
  {
    name: "a tensor the wrong shape",
    file: "model.safetensors",
    content: (valid) => editHeader(valid.weights, (header) => (entry(header, "pooler.dense.bias").shape = [4, 8])),
    problem: ["tensor 'pooler.dense.bias': shape [4, 8], but config.json implies [32]"]
  },
  { name: "weights binary garbage", file: "model.safetensors", content: () => binaryGarbage(), problem: [/header length \d+ is beyond the end of the file \(4096 bytes\)/] },
  { name: "weights a symlink loop", file: "model.safetensors", content: () => SYMLINK_LOOP, problem: ["cannot read the file (ELOOP)"] },
  { name: "weights a folder", file: "model.safetensors", content: () => FOLDER, problem: ["cannot read the file (EISDIR)"] },
  { name: "weights missing", file: "model.safetensors", content: () => ABSENT, problem: ["model.safetensors: missing"] },
  // A sharded checkpoint's index.
  { name: "a shard index that is null", file: "model.safetensors.index.json", sharded: true, content: () => "null", problem: ["no weight_map object"] },
  { name: "a shard index naming a file outside the folder", file: "model.safetensors.index.json", sharded: true, content: () => JSON.stringify({ weight_map: { x: "../../elsewhere.safetensors" } }), problem: ['weight_map names "../../elsewhere.safetensors", not a file name in the folder'] },
  { name: "a shard index with no shard", file: "model.safetensors.index.json", sharded: true, content: () => JSON.stringify({ weight_map: {} }), problem: ["weight_map lists no shard"] },
  // tokenizer.json.
  { name: "tokenizer.json empty", file: "tokenizer.json", content: () => "", problem: ["not valid JSON: Unexpected end of JSON input"] },
  { name: "tokenizer.json truncated", file: "tokenizer.json", content: (valid) => JSON.stringify(valid.tokenizer).slice(0, 300), problem: ["not valid JSON"] },
  { name: "tokenizer.json binary garbage", file: "tokenizer.json", content: () => binaryGarbage(), problem: [/invalid UTF-8 at byte \d+|not valid JSON/] },
  { name: "tokenizer.json in invalid UTF-8", file: "tokenizer.json", content: () => bytes('{"model": "', [0xed, 0xa0, 0x80], '"}'), problem: ["line 1: invalid UTF-8 at byte 11"] },
  { name: "tokenizer.json an empty object", file: "tokenizer.json", content: () => "{}", problem: ["@huggingface/tokenizers cannot load it"] },
  { name: "tokenizer.json an unknown model type", file: "tokenizer.json", content: (valid) => JSON.stringify({ ...valid.tokenizer, model: { type: "NoSuchModel" } }), problem: ["@huggingface/tokenizers cannot load it: Unknown TokenizerModel type: NoSuchModel"] },
  { name: "tokenizer.json a vocabulary that is a number", file: "tokenizer.json", content: (valid) => JSON.stringify({ ...valid.tokenizer, model: { ...(valid.tokenizer["model"] as Json), vocab: 7 } }), problem: ["model.vocab is 7, not a vocabulary"] },
  { name: "tokenizer.json a negative id", file: "tokenizer.json", content: (valid) => JSON.stringify(withVocabId(valid.tokenizer, "love", -3)), problem: ['token "love" has id -3, not an integer in 0–2147483647'] },
  { name: "tokenizer.json an id of 1e300", file: "tokenizer.json", content: (valid) => JSON.stringify(withVocabId(valid.tokenizer, "love", 1e300)), problem: ['token "love" has id 1e+300'] },
  { name: "tokenizer.json an id that is a string", file: "tokenizer.json", content: (valid) => JSON.stringify(withVocabId(valid.tokenizer, "love", "7")), problem: ['token "love" has id "7"'] },
  { name: "tokenizer.json ids past the model's vocabulary", file: "tokenizer.json", content: (valid) => JSON.stringify(withVocabId(valid.tokenizer, "love", 500)), names: "folder", problem: ["tokenizer.json has token ids up to 500, but config.json's vocab_size is 128"] },
  { name: "tokenizer.json a symlink loop", file: "tokenizer.json", content: () => SYMLINK_LOOP, problem: ["cannot read the file (ELOOP)"] },
  { name: "tokenizer.json a folder", file: "tokenizer.json", content: () => FOLDER, problem: ["cannot read the file (EISDIR)"] },
  { name: "tokenizer.json missing", file: "tokenizer.json", content: () => ABSENT, problem: ["tokenizer.json: not found"] },
  // tokenizer_config.json.
  { name: "tokenizer_config.json not JSON", file: "tokenizer_config.json", content: () => "pad_token: [PAD]", problem: ["not valid JSON"] },
  { name: "tokenizer_config.json a list", file: "tokenizer_config.json", content: () => "[]", problem: ["not a JSON object"] },
  { name: "tokenizer_config.json a pad token not in the vocabulary", file: "tokenizer_config.json", content: () => JSON.stringify({ pad_token: "<nope>" }), problem: ["pad_token '<nope>' is not in the vocabulary"] },
  // The folder itself.
  { name: "the model path a file", file: ".", content: () => "not a folder", names: "folder", problem: ["not a model folder (a file)"] },
  { name: "the model path a symlink loop", file: ".", content: () => SYMLINK_LOOP, names: "folder", problem: ["not a model folder (cannot follow it: ELOOP)"] },
  { name: "an empty folder", file: ".", content: () => FOLDER, problem: ["tokenizer.json: not found"] }
]

function withVocabId(tokenizer: Json, token: string, id: unknown): Json {
  const model = tokenizer["model"] as Json
  return { ...tokenizer, model: { ...model, vocab: { ...(model["vocab"] as Json), [token]: id } } }
}

const inRoot = temporaryFolder("carl-bad-model-")
let base = ""
let valid: Valid
let input = ""
let hugeTensorThroughCli: () => Promise<void>
before(async () => {
  await tf.setBackend("cpu")
  base = inRoot("base")
  await writeTinyBertDir(base)
  valid = {
    config: JSON.parse(await readFile(join(base, "config.json"), "utf8")) as Json,
    tokenizer: tinyTokenizerJson(),
    weights: await readFile(join(base, "model.safetensors"))
  }
  assert.equal(valid.config["vocab_size"], TINY_BERT_DIR_CONFIG.vocabSize)
  input = inRoot("input.txt")
  await writeFile(input, "i love this movie!\nawful\n")
  hugeTensorThroughCli = startEarly(async () => {
    const badCase = CASES.find((candidate) => candidate.name === "a tensor claiming 10^15 bytes")
    assert.ok(badCase !== undefined)
    const { dir, model, target, output } = await setUp("cli-huge", badCase)
    await expectCleanCliFailure(dir, ["embed", "--backend", "cpu", "--model", model, "--input", input, "--output", output], mentionsOf(badCase, model, target))
  })
})

/** A copy of the valid folder with the case's damage, and where its output would go. */
const setUp = async (label: string, badCase: ModelCase) => {
  const dir = inRoot(label)
  const model = join(dir, "model")
  await cp(base, model, { recursive: true })
  if (badCase.sharded === true) await rm(join(model, "model.safetensors"))
  const target = badCase.file === "." ? model : join(model, badCase.file)
  await writeBadFile(target, badCase.content(valid))
  await mkdir(join(dir, "out"))
  return { dir, model, target, output: join(dir, "out", "vectors.jsonl") }
}

const mentionsOf = (badCase: ModelCase, model: string, target: string) => [badCase.names === "folder" ? model : target, ...badCase.problem]

const embedIn = (model: string, output: string) =>
  asCommand(embedCommand({ model, input, output, pooling: "cls", batchSize: 8, maxLength: 32, offline: true }))

describe("model folders: each malformed file is one tagged error naming it (carl embed)", () => {
  test("the valid folder embeds (the cases below differ from it in one file)", async () => {
    const output = inRoot("valid-vectors.jsonl")
    await Effect.runPromise(embedIn(base, output))
    assert.equal((await readFile(output, "utf8")).trim().split("\n").length, 2)
  })

  CASES.forEach((badCase, index) => {
    test(badCase.name, async () => {
      const { dir, model, target, output } = await setUp(`case-${index}`, badCase)
      const tensors = tf.memory().numTensors
      const heap = process.memoryUsage().arrayBuffers
      await expectCleanFailure(dir, embedIn(model, output), mentionsOf(badCase, model, target))
      assert.equal(tf.memory().numTensors, tensors, "a failed load leaves no tensors behind")
      assert.ok(process.memoryUsage().arrayBuffers - heap < 64 * 2 ** 20, "no large allocation for what a header claims")
    })
  })
})

describe("carl embed --input: a text file that is not one fails naming it, and writes nothing", () => {
  const INPUTS: ReadonlyArray<readonly [string, BadFile, string]> = [
    ["invalid UTF-8", bytes("fine\nno", [0xc3, 0x28], "t fine\n"), "line 2: invalid UTF-8 at byte 7"],
    ["binary garbage", binaryGarbage(), "invalid UTF-8 at byte"],
    ["a symlink loop", SYMLINK_LOOP, "cannot read (ELOOP)"],
    ["a folder", FOLDER, "cannot read (EISDIR)"],
    ["no such file", ABSENT, "cannot read (ENOENT)"]
  ]
  INPUTS.forEach(([name, content, problem], index) => {
    test(name, async () => {
      const dir = inRoot(`input-${index}`)
      const file = join(dir, "input.txt")
      await writeBadFile(file, content)
      await mkdir(join(dir, "out"))
      const failure = await expectCleanFailure(
        dir,
        asCommand(embedCommand({ model: base, input: file, output: join(dir, "out", "vectors.jsonl"), pooling: "cls", batchSize: 8, maxLength: 32, offline: true })),
        [file, problem]
      )
      assert.equal(failure.tag, "TextFileError")
    })
  })
})

describe("model folders in carl eval and carl train", () => {
  const pick = (name: string) => {
    const found = CASES.find((candidate) => candidate.name === name)
    assert.ok(found !== undefined, name)
    return found
  }

  for (const name of ["weights truncated in the data", "tokenizer.json a negative id", "config.json 10^12 layers"]) {
    test(`eval: ${name}`, async () => {
      const badCase = pick(name)
      const { dir, model, target } = await setUp(`eval-${CASES.indexOf(badCase)}`, badCase)
      const dataDir = join(dir, "data")
      await writeTinyEvalData(dataDir)
      const program = asCommand(evalCommand(evalCommandOptions({ models: [model], tasks: ["sst5"], dataDir, out: join(dir, "out", "results.json"), cacheDir: join(dir, "cache") })))
      await expectCleanFailure(dir, program, mentionsOf(badCase, model, target))
    })
  }

  for (const name of ["tokenizer.json ids past the model's vocabulary", "a tensor the wrong shape"]) {
    test(`train: ${name}`, async () => {
      const badCase = pick(name)
      const { dir, model, target } = await setUp(`train-${CASES.indexOf(badCase)}`, badCase)
      const data = join(dir, "va.csv")
      await writeFile(data, `text,v,a\n${Array.from({ length: 12 }, (_, i) => `i love it ${i},${1 + (i % 5)},3`).join("\n")}\n`)
      const program = asCommand(trainCommand(defaultConfig(), trainCommandOptions({ model, data: [{ file: data, format: "csv", ...VA_COLUMNS }], out: join(dir, "run") })))
      await expectCleanFailure(dir, program, mentionsOf(badCase, model, target))
    })
  }
})

describe("model folders through the CLI", () => {
  test("carl embed: a header claiming a 10^15-byte tensor; no output file", () => hugeTensorThroughCli())
})
