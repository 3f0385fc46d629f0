/**
 * Hugging Face tokenizers: the real bert-base-uncased WordPiece tokenizer, a byte-level BPE one
 * shaped like RoBERTa's, batching with padding and truncation, and load errors that name the file.
 */
import assert from "node:assert/strict"
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { after, before, describe, test } from "node:test"
import { Tokenizer as UntypedTokenizer } from "@huggingface/tokenizers"
import { Effect, Result } from "effect"
import { loadTokenizer, TokenizerError, type HfTokenizer } from "../plugins/encoders/tokenizer/hf-tokenizer.ts"
import { addedToken } from "./support/tiny-bert-dir.ts"

const repoRoot = fileURLToPath(new URL("..", import.meta.url))
const BERT_DIR = join(repoRoot, "..", "shared", "models", "bert-base-uncased-tokenizer")

const load = async (directory: string): Promise<HfTokenizer> => {
  const result = await Effect.runPromise(Effect.result(loadTokenizer(directory)))
  if (Result.isFailure(result)) assert.fail(`expected a tokenizer, got: ${result.failure.message}`)
  return result.success
}

const loadFailure = async (directory: string): Promise<TokenizerError> => {
  const result = await Effect.runPromise(Effect.result(loadTokenizer(directory)))
  if (Result.isSuccess(result)) assert.fail("expected a TokenizerError, got a tokenizer")
  assert.ok(result.failure instanceof TokenizerError)
  return result.failure
}

const rows = (values: Int32Array | Float32Array, seqLength: number): Array<Array<number>> =>
  Array.from({ length: values.length / seqLength }, (_, r) => [...values.subarray(r * seqLength, (r + 1) * seqLength)])

describe("bert-base-uncased (WordPiece, TemplateProcessing)", () => {
  let bert: HfTokenizer
  before(async () => {
    bert = await load(BERT_DIR)
  })

  test("encodes a sentence as [CLS] … [SEP]", { timeout: 10_000 }, () => {
    assert.deepEqual(bert.encode("I love this movie!"), [101, 1045, 2293, 2023, 3185, 999, 102])
    assert.deepEqual(bert.specialIds, { prefix: [101], suffix: [102] })
    assert.equal(bert.padTokenId, 0)
    assert.equal(bert.modelMaxLength, 512)
    const batch = bert.encodeBatch(["I love this movie!"], { maxLength: 128 })
    assert.deepEqual([...batch.ids], [101, 1045, 2293, 2023, 3185, 999, 102])
    assert.deepEqual([...batch.attentionMask], [1, 1, 1, 1, 1, 1, 1])
  })

  test("pads a batch to its longest text and masks the padding", { timeout: 10_000 }, () => {
    const batch = bert.encodeBatch(["I love this movie!", "hi", ""], { maxLength: 128 })
    assert.equal(batch.batch, 3)
    assert.equal(batch.seqLength, 7)
    assert.equal(batch.truncated, 0)
    assert.ok(batch.ids instanceof Int32Array && batch.attentionMask instanceof Float32Array)
    assert.deepEqual(rows(batch.ids, 7), [
      [101, 1045, 2293, 2023, 3185, 999, 102],
      [101, 7632, 102, 0, 0, 0, 0],
      [101, 102, 0, 0, 0, 0, 0]
    ])
    assert.deepEqual(rows(batch.attentionMask, 7), [
      [1, 1, 1, 1, 1, 1, 1],
      [1, 1, 1, 0, 0, 0, 0],
      [1, 1, 0, 0, 0, 0, 0]
    ])
  })

  test("truncates to maxLength, keeps [SEP] last and counts the truncated texts", { timeout: 10_000 }, () => {
    const batch = bert.encodeBatch(["I love this movie!", "hi", "I love this movie!"], { maxLength: 5 })
    assert.equal(batch.seqLength, 5)
    assert.equal(batch.truncated, 2)
    assert.deepEqual(rows(batch.ids, 5), [
      [101, 1045, 2293, 2023, 102],
      [101, 7632, 102, 0, 0],
      [101, 1045, 2293, 2023, 102]
    ])
    assert.equal(bert.encodeBatch(["I love this movie!"], { maxLength: 7 }).truncated, 0, "exactly maxLength is not truncated")
    assert.deepEqual([...bert.encodeBatch(["I love this movie!"], { maxLength: 2 }).ids], [101, 102])
    assert.throws(() => bert.encodeBatch(["hi"], { maxLength: 1 }), RangeError)
  })

  test("an empty string is [CLS] [SEP]", { timeout: 10_000 }, () => {
    assert.deepEqual(bert.encode(""), [101, 102])
    assert.deepEqual([...bert.encodeBatch([""], { maxLength: 16 }).ids], [101, 102])
  })

  test("agrees with the library's own encode (special tokens added by it) on varied text", { timeout: 10_000 }, async () => {
    // The package's types do not resolve under NodeNext (see hf-tokenizer.ts), hence the cast.
    const Library = UntypedTokenizer as unknown as new (json: object, config: object) => {
      encode(text: string): { ids: Array<number> }
    }
    const read = async (file: string): Promise<object> => JSON.parse(await readFile(join(BERT_DIR, file), "utf8")) as object
    const library = new Library(await read("tokenizer.json"), await read("tokenizer_config.json"))
    for (const text of ["Héllo, WORLD!!", "naïve café — 東京 🙂", "  spaces\tand\nnewlines  ", "a [SEP] inside", "unbelievably"]) {
      assert.deepEqual(bert.encode(text), library.encode(text).ids, text)
    }
  })

  test("an empty batch is empty", { timeout: 10_000 }, () => {
    const batch = bert.encodeBatch([], { maxLength: 16 })
    assert.deepEqual([batch.batch, batch.seqLength, batch.ids.length, batch.truncated], [0, 0, 0, 0])
  })
})

/**
 * A byte-level BPE tokenizer in RoBERTa's shape, small enough to run by hand.
 *
 * "low lower!": the ByteLevel pre-tokenizer (GPT-2's split regex, spaces as "Ġ") gives the words
 * "low", "Ġlower", "!". BPE applies the merges by rank:
 *   "low":     l o w → (l o) lo w → (lo w) low                        → ["low"]           = [12]
 *   "Ġlower":  Ġ l o w e r → lo → low → (e r) Ġ low er → (Ġ low) Ġlow er → ["Ġlow", "er"] = [14, 13]
 *   "!":       no merge                                                → ["!"]             = [10]
 * RobertaProcessing wraps them in <s> (0) … </s> (2): [0, 12, 14, 13, 10, 2]. <pad> is 1.
 */
const BPE_VOCAB = {
  "<s>": 0,
  "<pad>": 1,
  "</s>": 2,
  "<unk>": 3,
  l: 4,
  o: 5,
  w: 6,
  e: 7,
  r: 8,
  "Ġ": 9,
  "!": 10,
  lo: 11,
  low: 12,
  er: 13,
  "Ġlow": 14
}
const BPE_MERGES = ["l o", "lo w", "e r", "Ġ low"]

const tinyRobertaTokenizerJson = {
  version: "1.0",
  truncation: null,
  padding: null,
  added_tokens: [addedToken(0, "<s>"), addedToken(1, "<pad>"), addedToken(2, "</s>"), addedToken(3, "<unk>")],
  normalizer: null,
  pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
  post_processor: {
    type: "RobertaProcessing",
    sep: ["</s>", 2],
    cls: ["<s>", 0],
    trim_offsets: true,
    add_prefix_space: false
  },
  decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
  model: {
    type: "BPE",
    dropout: null,
    unk_token: null,
    continuing_subword_prefix: "",
    end_of_word_suffix: "",
    fuse_unk: false,
    byte_fallback: false,
    vocab: BPE_VOCAB,
    merges: BPE_MERGES
  }
}

describe("a byte-level BPE tokenizer (RobertaProcessing)", () => {
  let dir: string
  let roberta: HfTokenizer
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "carl-bpe-"))
    await writeFile(join(dir, "tokenizer.json"), JSON.stringify(tinyRobertaTokenizerJson))
    await writeFile(
      join(dir, "tokenizer_config.json"),
      JSON.stringify({ tokenizer_class: "RobertaTokenizer", pad_token: "<pad>", model_max_length: 512 })
    )
    roberta = await load(dir)
  })
  after(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  test("encodes with the merges and wraps in <s> … </s>", { timeout: 10_000 }, () => {
    assert.deepEqual(roberta.encode("low lower!"), [0, 12, 14, 13, 10, 2])
    assert.deepEqual(roberta.specialIds, { prefix: [0], suffix: [2] })
    assert.equal(roberta.padTokenId, 1)
    assert.equal(roberta.decode([0, 12, 14, 13, 10, 2], { skipSpecialTokens: true }), "low lower!")
  })

  test("pads with <pad> and truncates keeping </s>", { timeout: 10_000 }, () => {
    const batch = roberta.encodeBatch(["low", "low lower!"], { maxLength: 4 })
    assert.equal(batch.truncated, 1)
    assert.deepEqual(rows(batch.ids, batch.seqLength), [
      [0, 12, 2, 1],
      [0, 12, 14, 2]
    ])
    assert.deepEqual(rows(batch.attentionMask, batch.seqLength), [
      [1, 1, 1, 0],
      [1, 1, 1, 1]
    ])
  })
})

describe("loading errors name the file", () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "carl-tokenizer-errors-"))
  })
  after(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  const oneLine = (error: TokenizerError) => {
    assert.ok(!error.message.includes("\n"), `one line: ${error.message}`)
    assert.ok(!/\n\s+at /.test(error.message), "no stack trace")
  }

  test("a directory without tokenizer.json", { timeout: 10_000 }, async () => {
    const empty = join(dir, "empty")
    await mkdir(empty)
    const error = await loadFailure(empty)
    assert.equal(error.file, join(empty, "tokenizer.json"))
    assert.match(error.message, /tokenizer\.json: not found/)
    oneLine(error)
  })

  test("tokenizer.json that is not JSON", { timeout: 10_000 }, async () => {
    const broken = await mkdtemp(join(dir, "broken-"))
    await writeFile(join(broken, "tokenizer.json"), '{"model": {"type": "WordPiece",')
    const error = await loadFailure(broken)
    assert.equal(error.file, join(broken, "tokenizer.json"))
    assert.match(error.message, /tokenizer\.json: not valid JSON/)
    oneLine(error)
  })

  test("tokenizer_config.json that is not JSON", { timeout: 10_000 }, async () => {
    const broken = await mkdtemp(join(dir, "broken-config-"))
    await writeFile(join(broken, "tokenizer.json"), JSON.stringify(tinyRobertaTokenizerJson))
    await writeFile(join(broken, "tokenizer_config.json"), "pad_token: <pad>")
    const error = await loadFailure(broken)
    assert.equal(error.file, join(broken, "tokenizer_config.json"))
    oneLine(error)
  })

  test("tokenizer.json the library rejects", { timeout: 10_000 }, async () => {
    const rejected = await mkdtemp(join(dir, "rejected-"))
    await writeFile(
      join(rejected, "tokenizer.json"),
      JSON.stringify({ ...tinyRobertaTokenizerJson, model: { type: "NoSuchModel" } })
    )
    const error = await loadFailure(rejected)
    assert.equal(error.file, join(rejected, "tokenizer.json"))
    assert.match(error.message, /tokenizer\.json: @huggingface\/tokenizers cannot load it: Unknown TokenizerModel type: NoSuchModel$/)
    oneLine(error)
  })

  test("a tokenizer without any pad token", { timeout: 10_000 }, async () => {
    const noPad = await mkdtemp(join(dir, "no-pad-"))
    await writeFile(join(noPad, "tokenizer.json"), JSON.stringify(tinyRobertaTokenizerJson))
    const error = await loadFailure(noPad)
    assert.equal(error.file, join(noPad, "tokenizer.json"))
    assert.match(error.message, /no pad token/)
  })
})
