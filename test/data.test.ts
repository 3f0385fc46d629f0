/**
 * Data plugins: RFC 4180 parsing, the valence–arousal formats and their bad-input errors, splits,
 * the evaluation corpora and the tar reader, on small fixtures written to a temp dir; then smoke
 * checks against the real files in ../shared/data (counts from their MANIFESTs).
 */
import assert from "node:assert/strict"
import { existsSync } from "node:fs"
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { gzipSync } from "node:zlib"
import { after, before, describe, test } from "node:test"
import { Effect, Result } from "effect"
import { longNameEntry, paxPathEntry, tarArchive, tarEntry } from "./support/tar.ts"
import {
  combineCorpora,
  DataError,
  goEmotionsToEkman,
  parseDelimited,
  readCr,
  readEmoBank,
  readFacebookVa,
  readGoEmotions,
  readImdb,
  readMr,
  readPolarityFiles,
  readSst5,
  readVaCorpus,
  splitCorpus,
  TarReader,
  type DelimitedRecord,
  type GenericVaOptions,
  type TarHeader,
  type VaCorpus
} from "../plugins/data/index.ts"

const repoRoot = fileURLToPath(new URL("..", import.meta.url))
const DATA = join(repoRoot, "..", "shared", "data")
const noRealData = existsSync(DATA) ? false : `no ${DATA}`

let dir = ""
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "carl-data-"))
})
after(async () => {
  await rm(dir, { recursive: true, force: true })
})

const write = async (name: string, content: string | Uint8Array): Promise<string> => {
  const path = join(dir, name)
  await mkdir(dirname(path), { recursive: true })
  await writeFile(path, content)
  return path
}

const run = <A>(effect: Effect.Effect<A, DataError>): Promise<A> => Effect.runPromise(effect)

const failure = async <A>(effect: Effect.Effect<A, DataError>): Promise<DataError> => {
  const result = await Effect.runPromise(Effect.result(effect))
  if (Result.isSuccess(result)) assert.fail("expected a DataError, got a result")
  assert.ok(result.failure instanceof DataError)
  assert.ok(!result.failure.message.includes("\n"), "the message is one line")
  return result.failure
}

const near = (actual: number | undefined, expected: number, what = "") =>
  assert.ok(actual !== undefined && Math.abs(actual - expected) < 1e-12, `${what} ${actual} ≠ ${expected}`)

const records = (text: string, delimiter: "," | "\t" = ",", quoting: "rfc4180" | "none" = "rfc4180"): Array<DelimitedRecord> => {
  const parsed = parseDelimited(text, { delimiter, quoting })
  if (Result.isFailure(parsed)) assert.fail(`parse failed: ${parsed.failure.problem}`)
  return parsed.success
}

const EMOBANK_HEADER = "id,split,V,A,D,text"
const emobankCsv = (...rows: Array<string>) => `${[EMOBANK_HEADER, ...rows].join("\n")}\n`

describe("RFC 4180 parsing", () => {
  test("quoted fields keep commas, line breaks and doubled quotes", () => {
    const parsed = records('a,b,c\n1,"x, y",3\n2,"say ""hi""",4\n3,"two\nlines",5\n')
    assert.deepEqual(
      parsed.map((record) => record.fields),
      [
        ["a", "b", "c"],
        ["1", "x, y", "3"],
        ["2", 'say "hi"', "4"],
        ["3", "two\nlines", "5"]
      ]
    )
  })

  test("CRLF ends records; a CRLF inside quotes is data; a lone CR is data", () => {
    const parsed = records('a,b\r\n"1\r\n2",x\ry\r\n3,4')
    assert.deepEqual(
      parsed.map((record) => record.fields),
      [
        ["a", "b"],
        ["1\r\n2", "x\ry"],
        ["3", "4"]
      ]
    )
  })

  test("empty fields, a trailing delimiter, no final newline, blank lines between rows", () => {
    const parsed = records('a,b,c\n,,\n\n"",x,\n1,2,3')
    assert.deepEqual(
      parsed.map((record) => record.fields),
      [
        ["a", "b", "c"],
        ["", "", ""],
        ["", "x", ""],
        ["1", "2", "3"]
      ]
    )
  })

  test("line numbers count the line breaks inside quoted fields", () => {
    const parsed = records('h1,h2\n"a\nb\nc",x\ny,"p\nq"\nz,w\n')
    assert.deepEqual(
      parsed.map((record) => [record.line, ...record.fieldLines]),
      [
        [1, 1, 1],
        [2, 2, 4],
        [5, 5, 5],
        [7, 7, 7]
      ]
    )
  })

  test("an unclosed quote fails at the line it opens on; text after a closing quote is flagged", () => {
    const parsed = parseDelimited('a,b\n1,2\n3,"never\nclosed\n', { delimiter: ",", quoting: "rfc4180" })
    assert.ok(Result.isFailure(parsed))
    assert.equal(parsed.failure.line, 3)
    const [, bad] = records('a,b\n"x"y,2\n')
    assert.equal(bad?.badQuoteField, 0)
    assert.deepEqual(bad?.fields, ["xy", "2"])
  })

  test("TSV with and without quoting", () => {
    assert.deepEqual(records('a\tb\n"x\ty"\t2\n', "\t")[1]?.fields, ["x\ty", "2"])
    assert.deepEqual(records('a\tb\n"x" said\t2\n', "\t", "none")[1]?.fields, ['"x" said', "2"])
  })
})

describe("valence–arousal formats", () => {
  test("EmoBank: published splits, Eq. 12 on 1–5, the scale recorded; BOM and CRLF", async () => {
    const text = `\uFEFF${EMOBANK_HEADER}\r\nid1,train,3.0,3.0,2.0,neutral\r\nid2,dev,5,1,3,"the best, ""ever"""\r\nid3,test,1.5,4.5,3,"two\r\nlines"\r\n`
    const file = await write("emobank-bom-crlf.csv", text)
    const corpus = await run(readEmoBank(file))
    assert.equal(corpus.format, "emobank")
    assert.deepEqual(corpus.scale, { min: 1, max: 5 })
    assert.equal(corpus.rows, 3)
    assert.deepEqual(
      corpus.examples.map((example) => [example.text, example.valence, example.arousal, example.split]),
      [
        ["neutral", 0, 0, "train"],
        ['the best, "ever"', 1, -1, "dev"],
        // 2·(1.5−1)/4−1 = −0.75, 2·(4.5−1)/4−1 = 0.75
        ["two\r\nlines", -0.75, 0.75, "test"]
      ]
    )
    assert.ok(Object.values(corpus.skipped).every((count) => count === 0))
  })

  test("a BOM does not become part of the first column's name, valid or invalid UTF-8 alike", async () => {
    const options = { textColumn: "text", valenceColumn: "v", arousalColumn: "a", scale: { min: 1, max: 5 }, skipBadRows: true }
    const valid = await write("bom.csv", "\uFEFFtext,v,a\r\nhello,1,5\r\n")
    assert.deepEqual((await run(readVaCorpus(valid, options))).examples, [{ text: "hello", valence: -1, arousal: 1 }])
    const invalid = await write("bom-bad.csv", Buffer.concat([Buffer.from("\uFEFFtext,v,a\nhello,1,5\nbad"), Buffer.from([0xe9]), Buffer.from(",1,5\n")]))
    const corpus = await run(readVaCorpus(invalid, options))
    assert.deepEqual(corpus.examples, [{ text: "hello", valence: -1, arousal: 1 }])
    assert.equal(corpus.skipped.invalidUtf8, 1)
  })

  test("EmoBank on another nominal scale, through readVaCorpus", async () => {
    const file = await write("emobank-scale.csv", emobankCsv("a,train,3,3,3,x"))
    const corpus = await run(readVaCorpus(file, { format: "emobank", scale: { min: 0, max: 4 } }))
    assert.deepEqual(corpus.scale, { min: 0, max: 4 })
    near(corpus.examples[0]?.valence, 0.5)
  })

  test("Facebook posts: the published header, two annotators averaged, 1–9", async () => {
    const text = [
      "Anonymized Message,Valence1,Valence2,Arousal1,Arousal2",
      "Happy new year to everybody!!,8,9,8,8",
      '"thinks that for girls, boys are easily found. ""Really""",4,3,6,7',
      '"a post\nover two lines",5,5,1,1'
    ].join("\n")
    const file = await write("fb.csv", `${text}\n`)
    const corpus = await run(readFacebookVa(file))
    assert.equal(corpus.format, "facebook-va")
    assert.deepEqual(corpus.scale, { min: 1, max: 9 })
    assert.deepEqual(
      corpus.examples.map((example) => example.text),
      ["Happy new year to everybody!!", 'thinks that for girls, boys are easily found. "Really"', "a post\nover two lines"]
    )
    // (8+9)/2 = 8.5 → 2·7.5/8−1 = 0.875; arousal 8 → 2·7/8−1 = 0.75
    near(corpus.examples[0]?.valence, 0.875)
    near(corpus.examples[0]?.arousal, 0.75)
    // (4+3)/2 = 3.5 → −0.375; (6+7)/2 = 6.5 → 0.375
    near(corpus.examples[1]?.valence, -0.375)
    near(corpus.examples[1]?.arousal, 0.375)
    assert.equal(corpus.examples[2]?.arousal, -1)
    assert.equal(corpus.examples[0]?.split, undefined)
  })

  test("generic CSV, TSV and JSONL with named columns and a split column", async () => {
    const options: GenericVaOptions = {
      textColumn: "sentence",
      valenceColumn: "val",
      arousalColumn: ["aro1", "aro2"],
      splitColumn: "part",
      scale: { min: 0, max: 10 }
    }
    const csv = await write("generic.csv", "sentence,val,aro1,aro2,part\nfine,5,0,10,train\nbad,0,2,4,Validation\nmeh,10,10,10,\n")
    const tsv = await write("generic.tsv", "sentence\tval\taro1\taro2\tpart\nfine\t5\t0\t10\ttrain\nbad\t0\t2\t4\tValidation\nmeh\t10\t10\t10\t\n")
    const jsonl = await write(
      "generic.jsonl",
      [
        '{"sentence":"fine","val":5,"aro1":0,"aro2":10,"part":"train"}\n',
        '{"sentence":"bad","val":"0","aro1":2,"aro2":"4","part":"Validation"}\r\n',
        '{"sentence":"meh","val":10,"aro1":10,"aro2":10.0,"part":""}\n'
      ].join("\n")
    )
    const expected = [
      ["fine", 0, 0, "train"],
      ["bad", -1, -0.4, "dev"],
      ["meh", 1, 1, undefined]
    ]
    for (const [file, format] of [
      [csv, "csv"],
      [tsv, "tsv"],
      [jsonl, "jsonl"]
    ] as const) {
      const corpus = await run(readVaCorpus(file, options))
      assert.equal(corpus.format, format)
      assert.deepEqual(
        corpus.examples.map((example) => [example.text, example.valence, Math.round(example.arousal * 1e12) / 1e12, example.split]),
        expected,
        format
      )
    }
    const explicit = await write("generic.data", "sentence,val,aro1,aro2,part\nfine,5,0,10,test\n")
    assert.equal((await run(readVaCorpus(explicit, { ...options, format: "csv" }))).examples[0]?.split, "test")
    const unknown = await failure(readVaCorpus(explicit, options))
    assert.equal(unknown.field, "format")
  })

  test("the scale is required for generic files and must be an interval", async () => {
    // @ts-expect-error a generic file must declare its scale
    const missingScale: GenericVaOptions = { textColumn: "t", valenceColumn: "v", arousalColumn: "a" }
    const file = await write("scale-check.csv", "t,v,a\nx,1,1\n")
    const error = await failure(readVaCorpus(file, { textColumn: "t", valenceColumn: "v", arousalColumn: "a", scale: { min: 5, max: 1 } }))
    assert.equal(error.message, `${file}: field 'scale': needs finite min < max (got 5–1)`)
  })
})

describe("valence–arousal bad input", () => {
  const cases: ReadonlyArray<{ name: string; rows: Array<string>; line: number; field: string; problem: string }> = [
    { name: "non-numeric label", rows: ["a,train,3,3,3,ok", "b,train,abc,3,3,bad"], line: 3, field: "V", problem: "not a number ('abc')" },
    { name: "NaN label", rows: ["b,train,3,NaN,3,bad"], line: 2, field: "A", problem: "not a finite number ('NaN')" },
    { name: "Inf label", rows: ["b,train,-inf,3,3,bad"], line: 2, field: "V", problem: "not a finite number ('-inf')" },
    { name: "overflowing label", rows: ["b,train,1e999,3,3,bad"], line: 2, field: "V", problem: "not a finite number ('1e999')" },
    { name: "empty label", rows: ["b,train,3, ,3,bad"], line: 2, field: "A", problem: "no value" },
    { name: "label above the scale", rows: ["b,train,5.5,3,3,bad"], line: 2, field: "V", problem: "5.5 is outside the scale 1–5" },
    { name: "label below the scale", rows: ["b,train,3,0.99,3,bad"], line: 2, field: "A", problem: "0.99 is outside the scale 1–5" },
    { name: "empty text", rows: ['b,train,3,3,3,"  "'], line: 2, field: "text", problem: "empty text" },
    { name: "unknown split", rows: ["b,holdout,3,3,3,x"], line: 2, field: "split", problem: "not a split ('holdout'; expected train, dev or test)" },
    { name: "EmoBank row without a split", rows: ["b,,3,3,3,x"], line: 2, field: "split", problem: "not a split (''; expected train, dev or test)" },
    {
      name: "short row",
      rows: ['a,train,3,3,3,"multi\nline"', "b,train,3,3,3"],
      line: 4,
      field: "text",
      problem: "missing (the row has 5 fields, the header 6)"
    },
    { name: "extra fields", rows: ["b,train,3,3,3,x,y"], line: 2, field: "column 7", problem: "not in the header (the row has 7 fields, the header 6)" },
    { name: "text after a closing quote", rows: ['b,train,3,3,3,"x"y'], line: 2, field: "text", problem: "text after the closing quote" }
  ]
  for (const { name, rows, line, field, problem } of cases) {
    test(`${name}: an error naming file, line and field`, async () => {
      const file = await write(`bad-${name.replace(/\W+/g, "-")}.csv`, emobankCsv(...rows))
      const error = await failure(readEmoBank(file))
      assert.deepEqual([error.file, error.line, error.field, error.problem], [file, line, field, problem])
      assert.equal(error.message, `${file}:${line}: field '${field}': ${problem}`)
    })
  }

  test("a required column missing from the header", async () => {
    const file = await write("no-arousal.csv", "id,split,V,D,text\na,train,3,3,x\n")
    const error = await failure(readEmoBank(file))
    assert.equal(error.message, `${file}:1: field 'A': not in the header (columns: 'id', 'split', 'V', 'D', 'text')`)
  })

  test("a column named twice in the header", async () => {
    const file = await write("twice.csv", "id,split,V,A,V,text\na,train,3,3,3,x\n")
    const error = await failure(readEmoBank(file, { skipBadRows: true }))
    assert.equal(error.message, `${file}:1: field 'V': named twice in the header (columns 3 and 5)`)
  })

  test("invalid UTF-8 names the row and field; skipBadRows skips just that row", async () => {
    const bytes = Buffer.concat([
      Buffer.from(`${EMOBANK_HEADER}\na,train,3,3,3,caf\u00e9 ok\nb,train,3,3,3,"bad `),
      Buffer.from([0xff, 0xc3]),
      Buffer.from(' bytes"\nc,dev,3,3,3,fine\n')
    ])
    const file = await write("bad-utf8.csv", bytes)
    const error = await failure(readEmoBank(file))
    assert.equal(error.message, `${file}:3: field 'text': invalid UTF-8 (bytes ff c3)`)
    const corpus = await run(readEmoBank(file, { skipBadRows: true }))
    assert.deepEqual(
      corpus.examples.map((example) => example.text),
      ["caf\u00e9 ok", "fine"]
    )
    assert.equal(corpus.skipped.invalidUtf8, 1)
  })

  test("an empty file and a header-only file are errors with or without skipBadRows", async () => {
    for (const skipBadRows of [false, true]) {
      const empty = await write("empty.csv", "")
      assert.equal((await failure(readEmoBank(empty, { skipBadRows }))).message, `${empty}: empty file`)
      const blank = await write("blank.csv", "\uFEFF\n\n")
      assert.equal((await failure(readEmoBank(blank, { skipBadRows }))).message, `${blank}: empty file`)
      const header = await write("header-only.csv", `${EMOBANK_HEADER}\r\n`)
      assert.equal((await failure(readEmoBank(header, { skipBadRows }))).message, `${header}:1: only a header, no rows`)
      const jsonl = await write("empty.jsonl", "\n \n")
      const generic = { textColumn: "t", valenceColumn: "v", arousalColumn: "a", scale: { min: 1, max: 5 }, skipBadRows }
      assert.equal((await failure(readVaCorpus(jsonl, generic))).message, `${jsonl}: empty file`)
    }
  })

  test("a missing file is an error naming it", async () => {
    const file = join(dir, "does-not-exist.csv")
    assert.equal((await failure(readEmoBank(file))).message, `${file}: cannot read (ENOENT)`)
  })

  test("an unclosed quote is an error even with skipBadRows: no row can be blamed", async () => {
    const file = await write("unclosed.csv", emobankCsv("a,train,3,3,3,ok", 'b,train,3,3,3,"never closed'))
    const error = await failure(readEmoBank(file, { skipBadRows: true }))
    assert.equal(error.message, `${file}:3: a quoted field opened on this line is never closed`)
  })

  test("skipBadRows: bad rows skipped and counted per reason", async () => {
    const file = await write(
      "mixed.csv",
      emobankCsv(
        "a,train,3,3,3,good one",
        "b,train,abc,3,3,not a number",
        "c,train,3,NaN,3,not finite",
        "d,train,9,3,3,out of scale",
        "e,train,3,0,3,out of scale too",
        'f,train,3,3,3,""',
        "g,later,3,3,3,bad split",
        "h,train,3,3,3",
        "i,train,3,3,3,x,extra",
        'j,train,3,3,3,"x"y',
        "k,test,4,2,3,good two"
      )
    )
    const corpus = await run(readEmoBank(file, { skipBadRows: true }))
    assert.equal(corpus.rows, 11)
    assert.deepEqual(
      corpus.examples.map((example) => example.text),
      ["good one", "good two"]
    )
    assert.deepEqual(corpus.skipped, {
      missingField: 1,
      extraFields: 1,
      badQuoting: 1,
      badJson: 0,
      wrongType: 0,
      invalidUtf8: 0,
      emptyText: 1,
      notANumber: 2,
      outOfScale: 2,
      badSplit: 1
    })
  })

  test("skipBadRows with no row left is an error listing the reasons", async () => {
    const file = await write("all-bad.csv", emobankCsv("a,train,x,3,3,t", "b,train,3,9,3,t"))
    const error = await failure(readEmoBank(file, { skipBadRows: true }))
    assert.equal(error.message, `${file}: no usable rows (skipped: notANumber 1, outOfScale 1)`)
  })

  test("JSONL: broken lines, wrong types and missing keys", async () => {
    const file = await write(
      "bad.jsonl",
      ['{"t":"ok","v":3,"a":3}', "{not json", "[1,2]", '{"t":7,"v":3,"a":3}', '{"t":"x","v":true,"a":3}', '{"t":"x","v":3}', '{"t":"x","v":3,"a":null}'].join("\n")
    )
    const options = { textColumn: "t", valenceColumn: "v", arousalColumn: "a", scale: { min: 1, max: 5 } }
    const error = await failure(readVaCorpus(file, options))
    assert.match(error.message, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:2: not JSON \\(`))
    const corpus = await run(readVaCorpus(file, { ...options, skipBadRows: true }))
    assert.equal(corpus.examples.length, 1)
    assert.equal(corpus.rows, 7)
    assert.deepEqual([corpus.skipped.badJson, corpus.skipped.wrongType, corpus.skipped.missingField], [2, 2, 2])
    const missing = await write("missing-key.jsonl", '{"t":"x","v":3}\n')
    assert.equal((await failure(readVaCorpus(missing, options))).message, `${missing}:1: field 'a': missing`)
  })
})

describe("combining and splitting", () => {
  const published = async () =>
    run(readEmoBank(await write("split-emobank.csv", emobankCsv("a,train,3,3,3,e1", "b,dev,3,3,3,e2", "c,test,3,3,3,e3", "d,train,5,5,5,e4"))))
  const unsplit = async (name: string, count: number) => {
    const rows = Array.from({ length: count }, (_, i) => `post ${i},${1 + (i % 9)},${1 + (i % 9)},5,5`)
    return run(readFacebookVa(await write(name, `Anonymized Message,Valence1,Valence2,Arousal1,Arousal2\n${rows.join("\n")}\n`)))
  }

  test("combineCorpora keeps each file's scale and its normalised labels", async () => {
    const emobank = await published()
    const facebook = await unsplit("fb-100.csv", 100)
    const combined = combineCorpora([emobank, facebook])
    assert.deepEqual(
      combined.sources.map((source) => [source.format, source.scale, source.examples]),
      [
        ["emobank", { min: 1, max: 5 }, 4],
        ["facebook-va", { min: 1, max: 9 }, 100]
      ]
    )
    assert.equal(combined.examples.length, 104)
    assert.deepEqual(combined.examples[3], { ...emobank.examples[3], source: 0 })
    assert.deepEqual(combined.examples[4], { ...facebook.examples[0], source: 1 })
    // EmoBank 5 on 1–5 and a post's 9 on 1–9 are both the top of their scale.
    assert.equal(combined.examples[3]?.valence, 1)
    assert.equal(combined.examples.find((example) => example.text === "post 8")?.valence, 1)
  })

  test("published splits are kept; the rest are drawn by seed, per file, in corpus order", async () => {
    const emobank = await published()
    const facebook = await unsplit("fb-200.csv", 200)
    const combined = combineCorpora([emobank, facebook])
    const splits = splitCorpus(combined, { seed: 7, dev: 0.1, test: 0.15 })
    assert.deepEqual([splits.published, splits.drawn], [4, 200])
    assert.deepEqual([splits.train.length, splits.dev.length, splits.test.length], [2 + 150, 1 + 20, 1 + 30])
    assert.deepEqual(
      splits.train.filter((example) => example.source === 0).map((example) => example.text),
      ["e1", "e4"]
    )
    const order = (texts: ReadonlyArray<{ text: string }>) => texts.map((example) => Number(example.text.split(" ")[1] ?? -1))
    const devPosts = order(splits.dev.filter((example) => example.source === 1))
    assert.deepEqual(devPosts, [...devPosts].sort((a, b) => a - b))
    for (const split of [splits.train, splits.dev, splits.test]) assert.ok(split.every((example) => example.split !== undefined))

    const again = splitCorpus(combined, { seed: 7, dev: 0.1, test: 0.15 })
    assert.deepEqual(again, splits)
    const otherSeed = splitCorpus(combined, { seed: 8, dev: 0.1, test: 0.15 })
    assert.notDeepEqual(otherSeed.test, splits.test)
    // A file's split does not depend on the files combined with it.
    const alone = splitCorpus(facebook, { seed: 7, dev: 0.1, test: 0.15 })
    assert.deepEqual(
      alone.test.map((example) => example.text),
      splits.test.filter((example) => example.source === 1).map((example) => example.text)
    )
  })

  test("fractions that leave no training data are a RangeError", async () => {
    const corpus: VaCorpus = await unsplit("fb-10.csv", 10)
    assert.throws(() => splitCorpus(corpus, { seed: 1, dev: 0.5, test: 0.5 }), RangeError)
    assert.throws(() => splitCorpus(corpus, { seed: 1, dev: -0.1, test: 0.1 }), RangeError)
  })
})

describe("evaluation corpora (fixtures)", () => {
  const goEmotionsDir = async () => {
    const root = join(dir, "goemotions")
    await write("goemotions/emotions.txt", "amusement\nanger\njoy\nsadness\nneutral")
    await write("goemotions/ekman_mapping.json", '{"anger": ["anger"], "joy": ["joy", "amusement"], "sadness": ["sadness"]}')
    await write("goemotions/train.tsv", 'ha\t0\tid1\nyay, "quoted\t0,2\tid2\nugh\t1,2\tid3\nmeh\t4\tid4\nok\t2,4\tid5\n')
    await write("goemotions/dev.tsv", "sad\t3\tid6\n")
    await write("goemotions/test.tsv", '"grr\t1\tid7\n')
    return root
  }

  test("GoEmotions: labels, literal quotes, and the single-Ekman-class rule", async () => {
    const corpus = await run(readGoEmotions(await goEmotionsDir()))
    assert.deepEqual(corpus.emotions, ["amusement", "anger", "joy", "sadness", "neutral"])
    assert.deepEqual(corpus.counts, { train: 5, dev: 1, test: 1 })
    assert.deepEqual(corpus.splits.train[1], { text: 'yay, "quoted', labels: [0, 2], id: "id2" })
    assert.equal(corpus.splits.test[0]?.text, '"grr')
    const ekman = goEmotionsToEkman(corpus)
    assert.deepEqual(ekman.classes, ["anger", "joy", "sadness"])
    // kept: ha (amusement → joy), yay (amusement + joy → joy); dropped: ugh (anger + joy), meh (neutral), ok (joy + neutral)
    assert.deepEqual(
      ekman.splits.train.map((example) => [example.text, example.label]),
      [
        ["ha", 1],
        ['yay, "quoted', 1]
      ]
    )
    assert.deepEqual(ekman.counts.train, { total: 5, kept: 2, droppedUnmapped: 2, droppedMixed: 1, perClass: { anger: 0, joy: 2, sadness: 0 } })
    assert.deepEqual(ekman.counts.test.perClass, { anger: 1, joy: 0, sadness: 0 })
  })

  test("GoEmotions: a bad label id or field count names the line", async () => {
    const root = await goEmotionsDir()
    await write("goemotions/dev.tsv", "fine\t3\tid6\nbad\t3,9\tid8\n")
    const error = await failure(readGoEmotions(root))
    assert.equal(error.message, `${join(root, "dev.tsv")}:2: field 'labels': not a label id 0–4 ('9')`)
    await write("goemotions/dev.tsv", "fine\t3\tid6\nno id\t3\n")
    assert.equal((await failure(readGoEmotions(root))).message, `${join(root, "dev.tsv")}:2: expected 3 tab-separated fields (text, labels, id), got 2`)
    await write("goemotions/dev.tsv", "sad\t3\tid6\n")
    await write("goemotions/ekman_mapping.json", '{"joy": ["joy", "glee"]}')
    assert.equal((await failure(readGoEmotions(root))).message, `${join(root, "ekman_mapping.json")}: field 'joy': 'glee' is not in emotions.txt`)
  })

  test("SST-5: label and text per line; a malformed line names it", async () => {
    const root = join(dir, "sst5")
    await write("sst5/stsa.fine.train", "4 a stirring , funny film\n0 awful .\n")
    await write("sst5/stsa.fine.dev", "2 so-so\n")
    await write("sst5/stsa.fine.test", "3 good\r\n1 not good\r\n")
    const corpus = await run(readSst5(root))
    assert.deepEqual(corpus.splits.train, [
      { text: "a stirring , funny film", label: 4 },
      { text: "awful .", label: 0 }
    ])
    assert.deepEqual(corpus.counts.test, { total: 2, perLabel: [0, 1, 0, 1, 0] })
    await write("sst5/stsa.fine.dev", "2 so-so\n5 too high\n")
    assert.equal((await failure(readSst5(root))).message, `${join(root, "stsa.fine.dev")}:2: field 'label': expected "<0-4> <text>" ('5 too high')`)
  })

  test("MR-style Latin-1 decodes byte for byte; 0x85 (NEL) does not split a line", async () => {
    const latin1 = Buffer.concat([Buffer.from("el ladr"), Buffer.from([0xf3]), Buffer.from("n de orqu"), Buffer.from([0xed]), Buffer.from("deas . \nwait")])
    const pos = await write("mr/rt-polarity.pos", Buffer.concat([latin1, Buffer.from([0x85]), Buffer.from(" what \n")]))
    await write("mr/rt-polarity.neg", Buffer.from("dull . \n"))
    const corpus = await run(readMr(dirname(pos)))
    assert.deepEqual(corpus.examples, [
      { text: "el ladrón de orquídeas .", label: 1 },
      { text: "wait\u0085 what", label: 1 },
      { text: "dull .", label: 0 }
    ])
    assert.deepEqual(corpus.counts, { posLines: 2, negLines: 1, pos: 2, neg: 1, emptyLines: 0 })
  })

  test("polarity files: empty lines dropped and counted, or kept as SentEval keeps them", async () => {
    const pos = await write("cr-like/a.pos", "good .\n\ngreat .\n\n")
    const neg = await write("cr-like/a.neg", "bad .\n")
    const files = { pos, neg, encoding: "utf-8" } as const
    const dropped = await run(readPolarityFiles(files))
    assert.deepEqual(dropped.counts, { posLines: 4, negLines: 1, pos: 2, neg: 1, emptyLines: 2 })
    const kept = await run(readPolarityFiles(files, { keepEmptyLines: true }))
    assert.equal(kept.examples.length, 5)
    assert.deepEqual(kept.examples[1], { text: "", label: 1 })
  })
})

const review = (split: string, polarity: string, id: number, rating: number, root = "aclImdb") =>
  tarEntry(`${root}/${split}/${polarity}/${id}_${rating}.txt`, `${split} ${polarity} review ${id}, ${rating} stars`)

const imdbFixture = () => {
  const entries: Array<Buffer> = [tarEntry("aclImdb/", "", "5"), tarEntry("aclImdb/README", "Large Movie Review Dataset")]
  for (const split of ["test", "train"]) {
    for (const [polarity, ratings] of [
      ["neg", [1, 2, 3, 4]],
      ["pos", [7, 8, 9, 10]]
    ] as const) {
      entries.push(tarEntry(`aclImdb/${split}/${polarity}/`, "", "5"))
      for (let id = 0; id < 10; id++) entries.push(review(split, polarity, id, ratings[id % 4] ?? 1))
    }
  }
  entries.push(tarEntry("aclImdb/train/unsup/0_0.txt", "unlabelled"))
  return tarArchive(...entries)
}

describe("tar reader and IMDB (fixtures)", () => {
  test("all reviews, labels and ratings from the file names; other entries skipped", async () => {
    const file = await write("imdb.tar.gz", gzipSync(imdbFixture()))
    const corpus = await run(readImdb(file))
    assert.deepEqual(corpus.counts.train, { pos: 10, neg: 10, ratings: { 1: 3, 2: 3, 3: 2, 4: 2, 7: 3, 8: 3, 9: 2, 10: 2 }, kept: 20 })
    assert.equal(corpus.splits.test.length, 20)
    assert.deepEqual(corpus.splits.train[0], { text: "train neg review 0, 1 stars", label: 0, rating: 1, id: 0 })
    assert.deepEqual(corpus.splits.train[19], { text: "train pos review 9, 8 stars", label: 1, rating: 8, id: 9 })
  })

  test("maxExamples: a seeded sample per split, in archive order, the same for the same seed", async () => {
    const file = await write("imdb-sample.tar.gz", gzipSync(imdbFixture()))
    const sample = await run(readImdb(file, { maxExamples: 5, seed: 3 }))
    assert.deepEqual([sample.splits.train.length, sample.splits.test.length, sample.counts.train.kept], [5, 5, 5])
    assert.deepEqual(sample.counts.train.pos + sample.counts.train.neg, 20)
    const key = (examples: ReadonlyArray<{ label: number; id: number }>) => examples.map((example) => example.label * 100 + example.id)
    const train = key(sample.splits.train)
    assert.deepEqual(train, [...train].sort((a, b) => a - b), "archive order: neg before pos, ids ascending")
    assert.deepEqual(await run(readImdb(file, { maxExamples: 5, seed: 3 })), sample)
    const seeds = await Promise.all([4, 5, 6].map((seed) => run(readImdb(file, { maxExamples: 5, seed }))))
    assert.ok(seeds.some((other) => JSON.stringify(key(other.splits.train)) !== JSON.stringify(train)))
    const all = await run(readImdb(file, { maxExamples: 50, seed: 3 }))
    assert.equal(all.splits.train.length, 20)
  })

  test("the reservoir is uniform: each of 20 reviews kept about 5/20 of the time", async () => {
    const file = await write("imdb-uniform.tar.gz", gzipSync(imdbFixture()))
    const kept = new Map<number, number>()
    const runs = 400
    for (let seed = 0; seed < runs; seed++) {
      const sample = await run(readImdb(file, { maxExamples: 5, seed }))
      for (const example of sample.splits.train) kept.set(example.label * 100 + example.id, (kept.get(example.label * 100 + example.id) ?? 0) + 1)
    }
    assert.equal(kept.size, 20)
    // Binomial(400, 0.25): mean 100, sd ≈ 8.7; ±40 is more than 4.5 sd.
    for (const [item, count] of kept) assert.ok(Math.abs(count - 100) < 40, `review ${item} kept ${count}/400`)
  })

  test("GNU long names and pax paths", async () => {
    const longRoot = `aclImdb-${"x".repeat(110)}`
    const longPath = `${longRoot}/train/pos/1_9.txt`
    const archive = tarArchive(
      longNameEntry(longPath),
      tarEntry(longPath.slice(0, 100), "long-named review", "0", "gnu"),
      paxPathEntry("aclImdb/test/neg/2_3.txt"),
      tarEntry("PaxTruncatedName", "pax-named review"),
      tarEntry("2_4.txt", "prefixed review", "0", "posix", "aclImdb/test/neg")
    )
    const corpus = await run(readImdb(await write("imdb-long.tar.gz", gzipSync(archive))))
    assert.deepEqual(corpus.splits.train, [{ text: "long-named review", label: 1, rating: 9, id: 1 }])
    assert.deepEqual(
      corpus.splits.test.map((example) => [example.text, example.rating]),
      [
        ["pax-named review", 3],
        ["prefixed review", 4]
      ]
    )
  })

  test("chunk boundaries do not matter", () => {
    const archive = imdbFixture()
    const read = (chunkSize: number) => {
      const seen: Array<string> = []
      const reader = new TarReader({
        header: (header: TarHeader) => {
          seen.push(`${header.kind} ${header.path} ${header.size}`)
          return true
        },
        body: (header: TarHeader, body: Uint8Array) => {
          seen.push(`${header.path}: ${Buffer.from(body).toString("utf8")}`)
          return undefined
        }
      })
      for (let at = 0; at < archive.length; at += chunkSize) assert.equal(reader.push(archive.subarray(at, at + chunkSize)), undefined)
      assert.equal(reader.finish(), undefined)
      return seen
    }
    const whole = read(archive.length)
    assert.equal(whole.filter((line) => line.includes(": ")).length, 42)
    for (const size of [1, 7, 511, 513, 4096]) assert.deepEqual(read(size), whole, `chunks of ${size}`)
  })

  test("an entry escaping the archive, a corrupt header, a truncated archive, a wrong rating: errors", async () => {
    const cases: ReadonlyArray<[string, Buffer, string]> = [
      [
        "dotdot",
        tarArchive(review("train", "pos", 0, 9), tarEntry("aclImdb/../../evil.txt", "x")),
        `entry "aclImdb/../../evil.txt": the path is absolute or climbs out with '..' (tar offset 1024)`
      ],
      ["absolute", tarArchive(tarEntry("/etc/passwd", "x")), `entry "/etc/passwd": the path is absolute or climbs out with '..' (tar offset 0)`],
      ["long-dotdot", tarArchive(longNameEntry(`../${"y".repeat(120)}`), tarEntry("short", "x", "0", "gnu")), "climbs out"],
      ["pax-absolute", tarArchive(paxPathEntry("/tmp/x"), tarEntry("harmless", "x")), "absolute"],
      ["corrupt", (() => {
        const archive = tarArchive(review("train", "pos", 0, 9))
        archive[10] = 0x41
        return archive
      })(), "header checksum mismatch (not a tar archive, or corrupt) (tar offset 0)"],
      ["truncated", tarArchive(review("train", "pos", 0, 9)).subarray(0, 700), `entry "aclImdb/train/pos/0_9.txt": the archive is truncated`],
      ["rating", tarArchive(review("train", "pos", 0, 3)), `entry "aclImdb/train/pos/0_3.txt": rating 3 does not belong in pos (7–10) (tar offset 0)`]
    ]
    for (const [name, archive, expected] of cases) {
      const file = await write(`bad-${name}.tar.gz`, gzipSync(archive))
      const error = await failure(readImdb(file))
      assert.equal(error.file, file)
      assert.ok(error.message.includes(expected), `${name}: ${error.message}`)
    }
    const notGzip = await write("not-gzip.tar.gz", "plain text")
    assert.match((await failure(readImdb(notGzip))).message, /: not a valid gzip stream \(incorrect header check\)$/)
  })
})

describe("real data in ../shared/data", { skip: noRealData }, () => {
  test("EmoBank: 10,062 rows, train 8,062 / dev 1,000 / test 1,000, every label in [−1, 1]", async () => {
    const corpus = await run(readEmoBank(join(DATA, "emobank", "emobank.csv")))
    assert.equal(corpus.examples.length, 10_062)
    const count = (split: string) => corpus.examples.filter((example) => example.split === split).length
    assert.deepEqual([count("train"), count("dev"), count("test")], [8_062, 1_000, 1_000])
    assert.ok(corpus.examples.every((example) => Math.abs(example.valence) <= 1 && Math.abs(example.arousal) <= 1))
    // emobank.csv line 5: 110CYL068_1137_1188,train,3.44,3.0,3.22,Goodwill helps people get off of public assistance.
    // V: 2·(3.44−1)/4−1 = 2·2.44/4−1 = 1.22−1 = 0.22;  A: 2·(3.0−1)/4−1 = 0
    const goodwill = corpus.examples.find((example) => example.text === "Goodwill helps people get off of public assistance.")
    assert.ok(goodwill !== undefined)
    assert.ok(Math.abs(goodwill.valence - 0.22) < 1e-12)
    assert.equal(goodwill.arousal, 0)
    assert.equal(goodwill.split, "train")
    // line 6008, a quoted field starting with an escaped quote: V 3.2 → 2·2.2/4−1 = 0.1, A 3.0 → 0
    const tupelo = corpus.examples.find((example) => example.text.startsWith('"Tupelo Honey Café opened in downtown Asheville in 2000,'))
    assert.ok(tupelo !== undefined && Math.abs(tupelo.valence - 0.1) < 1e-12 && tupelo.arousal === 0)
  })

  test("GoEmotions: 43,410 / 5,426 / 5,427; the Ekman rule keeps 26,732 / 3,354 / 3,362", async () => {
    const corpus = await run(readGoEmotions(join(DATA, "goemotions")))
    assert.deepEqual(corpus.counts, { train: 43_410, dev: 5_426, test: 5_427 })
    assert.equal(corpus.emotions.length, 28)
    assert.equal(corpus.emotions[27], "neutral")
    assert.deepEqual(corpus.splits.train[2], { text: "WHY THE FUCK IS BAYLESS ISOING", labels: [2], id: "eezlygj" })
    const ekman = goEmotionsToEkman(corpus)
    assert.deepEqual(ekman.classes, ["anger", "disgust", "fear", "joy", "sadness", "surprise"])
    assert.deepEqual([ekman.counts.train.kept, ekman.counts.dev.kept, ekman.counts.test.kept], [26_732, 3_354, 3_362])
    assert.deepEqual(ekman.counts.train.perClass, { anger: 4_293, disgust: 498, fear: 541, joy: 15_216, sadness: 2_326, surprise: 3_858 })
    assert.deepEqual(ekman.counts.test.perClass, { anger: 572, disgust: 76, fear: 80, joy: 1_863, sadness: 283, surprise: 488 })
    for (const split of ["train", "dev", "test"] as const) {
      const counts = ekman.counts[split]
      assert.equal(counts.kept + counts.droppedUnmapped + counts.droppedMixed, counts.total)
    }
  })

  test("SST-5: 8,544 / 1,101 / 2,210 with the MANIFEST's label counts", async () => {
    const corpus = await run(readSst5(join(DATA, "sst5")))
    assert.deepEqual([corpus.counts.train.total, corpus.counts.dev.total, corpus.counts.test.total], [8_544, 1_101, 2_210])
    assert.deepEqual(corpus.counts.train.perLabel, [1_092, 2_218, 1_624, 2_322, 1_288])
    assert.deepEqual(corpus.counts.test.perLabel, [279, 633, 389, 510, 399])
  })

  test("MR: 5,331 + 5,331, Latin-1 accents decoded", async () => {
    const corpus = await run(readMr(join(DATA, "mr")))
    assert.deepEqual(corpus.counts, { posLines: 5_331, negLines: 5_331, pos: 5_331, neg: 5_331, emptyLines: 0 })
    // rt-polarity.pos line 44 holds bytes 0xF3 and 0xED: "ladr\xf3n de orqu\xeddeas".
    const line44 = corpus.examples[43]
    assert.ok(line44 !== undefined)
    assert.ok(line44.text.startsWith("'compleja e intelectualmente retadora , el ladrón de orquídeas es uno de esos filmes"))
    assert.equal(line44.label, 1)
  })

  test("CR (SentEval's copy): 2,407 + 1,368 = 3,775 lines, four of them empty", async () => {
    const corpus = await run(readCr(join(DATA, "cr")))
    assert.deepEqual(corpus.counts, { posLines: 2_407, negLines: 1_368, pos: 2_405, neg: 1_366, emptyLines: 4 })
    const sentEval = await run(readCr(join(DATA, "cr"), { keepEmptyLines: true }))
    assert.equal(sentEval.examples.length, 3_775)
    assert.equal(corpus.examples[0]?.text, "im a more happier person after discovering the i/p button ! .")
  })

  test("IMDB: maxExamples 200 per split, the same under a seed; the archive's counts", { timeout: 20_000 }, async () => {
    const file = join(DATA, "imdb", "aclImdb_train_test_text.tar.gz")
    const first = await run(readImdb(file, { maxExamples: 200, seed: 42 }))
    const second = await run(readImdb(file, { maxExamples: 200, seed: 42 }))
    assert.deepEqual([first.splits.train.length, first.splits.test.length], [200, 200])
    assert.deepEqual(second, first)
    assert.deepEqual(first.counts.train, {
      pos: 12_500,
      neg: 12_500,
      ratings: { 1: 5_100, 2: 2_284, 3: 2_420, 4: 2_696, 7: 2_496, 8: 3_009, 9: 2_263, 10: 4_732 },
      kept: 200
    })
    assert.deepEqual(first.counts.test.ratings, { 1: 5_022, 2: 2_302, 3: 2_541, 4: 2_635, 7: 2_307, 8: 2_850, 9: 2_344, 10: 4_999 })
    const positives = first.splits.train.filter((example) => example.label === 1).length
    assert.ok(positives > 70 && positives < 130, `${positives} of 200 positive`)
  })
})
