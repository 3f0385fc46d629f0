/**
 * Bad valence–arousal data for `carl train --data` (CSV, TSV, JSONL, EmoBank): every case ends in
 * one tagged error naming the file (and the line and field where there is one), before anything
 * is written. All cases run through trainCommand in-process; a few through the CLI as well.
 */
import assert from "node:assert/strict"
import { join } from "node:path"
import { before, describe, test } from "node:test"
import { defaultConfig } from "../../plugins/carl/config.ts"
import type { DataSpec } from "../../pipelines/train/load-training-data.ts"
import { trainCommand } from "../../pipelines/train/train-command.ts"
import { asCommand } from "../support/as-command.ts"
import { ABSENT, binaryGarbage, bytes, expectCleanCliFailure, expectCleanFailure, FOLDER, startEarly, SYMLINK_LOOP, TEN_MB_LINE, writeBadFile, type BadFile } from "../support/run-cli.ts"
import { trainCommandOptions, VA_COLUMNS } from "../support/run-options.ts"
import { temporaryFolder } from "../support/temp-folder.ts"

const HEADER = "text,v,a\n"
const TSV_HEADER = "text\tv\ta\n"

type Columns = Omit<DataSpec, "file">

const GENERIC: Columns = { format: "csv", ...VA_COLUMNS }
const JSONL: Columns = { ...GENERIC, format: "jsonl" }
const TSV: Columns = { ...GENERIC, format: "tsv" }
const { format: _csv, ...NO_FORMAT } = GENERIC

interface VaCase {
  readonly name: string
  /** The data file's name in the case's folder. */
  readonly file: string
  readonly content: BadFile
  readonly columns: Columns
  readonly skipBadRows?: boolean
  /** What the one line must say, beside the file's path. */
  readonly problem: ReadonlyArray<string | RegExp>
}

const CASES: ReadonlyArray<VaCase> = [
  // The file as a whole.
  { name: "empty", file: "empty.csv", content: "", columns: GENERIC, problem: ["empty file"] },
  { name: "only blank lines", file: "blank.csv", content: "\n \n\r\n", columns: GENERIC, problem: ["empty file"] },
  { name: "header only", file: "header.csv", content: HEADER, columns: GENERIC, problem: [":1: only a header, no rows"] },
  { name: "a required column missing from the header", file: "no-a.csv", content: "text,v\nhi,3\n", columns: GENERIC, problem: [":1: field 'a': not in the header"] },
  { name: "no header at all (data in its place)", file: "no-header.csv", content: "hi,3,4\nyo,2,2\n", columns: GENERIC, problem: [":1: field 'text': not in the header (columns: 'hi', '3', '4')"] },
  { name: "a column named twice", file: "twice.csv", content: "text,v,v,a\nhi,3,3,3\n", columns: GENERIC, problem: ["field 'v': named twice in the header (columns 2 and 3)"] },
  { name: "truncated inside a quoted field", file: "unclosed.csv", content: `${HEADER}hi,3,3\n"cut off here,3`, columns: GENERIC, problem: [":3: a quoted field opened on this line is never closed"] },
  { name: "truncated row", file: "short-row.csv", content: `${HEADER}hi,3,3\nyo,2`, columns: GENERIC, problem: [":3: field 'a': missing (the row has 2 fields, the header 3)"] },
  { name: "a row with extra fields", file: "long-row.csv", content: `${HEADER}hi,3,3,9\n`, columns: GENERIC, problem: [":2: field 'column 4': not in the header"] },
  { name: "text after a closing quote", file: "quote.csv", content: `${HEADER}"hi"x,3,3\n`, columns: GENERIC, problem: [":2: field 'text': text after the closing quote"] },
  // Values.
  { name: "NaN", file: "nan.csv", content: `${HEADER}hi,NaN,3\n`, columns: GENERIC, problem: [":2: field 'v': not a finite number ('NaN')"] },
  { name: "Infinity", file: "inf.csv", content: `${HEADER}hi,3,-Infinity\n`, columns: GENERIC, problem: [":2: field 'a': not a finite number ('-Infinity')"] },
  { name: "a number too large for a double", file: "huge.csv", content: `${HEADER}hi,1e999,3\n`, columns: GENERIC, problem: [":2: field 'v': not a finite number ('1e999')"] },
  { name: "400 digits", file: "digits.csv", content: `${HEADER}hi,${"9".repeat(400)},3\n`, columns: GENERIC, problem: [":2: field 'v': not a finite number ('9999999999999999999999999999999999999999…')"] },
  { name: "a huge number still a double", file: "big.csv", content: `${HEADER}hi,1e308,3\n`, columns: GENERIC, problem: [":2: field 'v': 1e+308 is outside the scale 1–5"] },
  { name: "a word for a label", file: "word.csv", content: `${HEADER}hi,three,3\n`, columns: GENERIC, problem: [":2: field 'v': not a number ('three')"] },
  { name: "an empty label", file: "no-label.csv", content: `${HEADER}hi,,3\n`, columns: GENERIC, problem: [":2: field 'v': no value"] },
  { name: "invalid UTF-8 in a row", file: "bad-utf8.csv", content: bytes(HEADER, "hi,3,3\nb", [0xff, 0xfe], "d,3,3\n"), columns: GENERIC, problem: [":3: field 'text': invalid UTF-8 (bytes ff fe)"] },
  { name: "invalid UTF-8 in the header", file: "bad-header.csv", content: bytes("te", [0xc3], "xt,v,a\nhi,3,3\n"), columns: GENERIC, problem: [":1: invalid UTF-8 in the header (bytes c3)"] },
  { name: "a 10 MB single line", file: "one-line.csv", content: `${HEADER}${TEN_MB_LINE}`, columns: GENERIC, problem: [":2: field 'v': missing (the row has 1 fields, the header 3)"] },
  { name: "binary garbage", file: "garbage.csv", content: binaryGarbage(), columns: GENERIC, problem: [/:1: (invalid UTF-8 in the header|field 'text': not in the header)/] },
  { name: "all rows bad, skipped", file: "all-bad.csv", content: `${HEADER}hi,NaN,3\n,3,3\n`, columns: GENERIC, skipBadRows: true, problem: ["no usable rows (skipped: emptyText 1, notANumber 1)"] },
  { name: "a scale with min above max", file: "scale.csv", content: `${HEADER}hi,3,3\n`, columns: { ...GENERIC, scale: { min: 5, max: 1 } }, problem: ["field 'scale': needs finite min < max (got 5–1)"] },
  { name: "no extension and no format", file: "data", content: `${HEADER}hi,3,3\n`, columns: NO_FORMAT, problem: ["field 'format': cannot tell the format"] },
  { name: "every row in the test split", file: "all-test.csv", content: "text,v,a,split\nhi,3,3,test\nyo,2,2,test\n", columns: { ...GENERIC, splitColumn: "split" }, problem: ["no training examples (2 examples: dev 0, test 2)"] },
  // TSV.
  { name: "TSV: a row short of a field", file: "short.tsv", content: `${TSV_HEADER}hi\t3\n`, columns: TSV, problem: [":2: field 'a': missing"] },
  { name: "TSV: a label with a comma decimal", file: "comma.tsv", content: `${TSV_HEADER}hi\t3,5\t3\n`, columns: TSV, problem: [":2: field 'v': not a number ('3,5')"] },
  // JSONL.
  { name: "JSONL: truncated", file: "cut.jsonl", content: '{"text":"hi","v":3,"a":3}\n{"text":"yo","v":', columns: JSONL, problem: [":2: not JSON"] },
  { name: "JSONL: a number for the text", file: "types.jsonl", content: '{"text":5,"v":3,"a":3}\n', columns: JSONL, problem: [":1: field 'text': expected a string, got 5"] },
  { name: "JSONL: a list for a label", file: "list.jsonl", content: '{"text":"hi","v":[3],"a":3}\n', columns: JSONL, problem: [":1: field 'v': expected a number, got [3]"] },
  { name: "JSONL: NaN is not JSON", file: "nan.jsonl", content: '{"text":"hi","v":NaN,"a":3}\n', columns: JSONL, problem: [":1: not JSON"] },
  { name: "JSONL: 1e999 parses to Infinity", file: "inf.jsonl", content: '{"text":"hi","v":1e999,"a":3}\n', columns: JSONL, problem: [":1: field 'v': not a finite number (Infinity)"] },
  { name: "JSONL: a missing key", file: "key.jsonl", content: '{"text":"hi","v":3}\n', columns: JSONL, problem: [":1: field 'a': missing"] },
  { name: "JSONL: null for a label", file: "null.jsonl", content: '{"text":"hi","v":null,"a":3}\n', columns: JSONL, problem: [":1: field 'v': missing"] },
  { name: "JSONL: a key twice (the last wins, and is bad)", file: "dup.jsonl", content: '{"text":"hi","v":3,"v":"x","a":3}\n', columns: JSONL, problem: [":1: field 'v': not a number ('x')"] },
  { name: "JSONL: an array, not an object", file: "array.jsonl", content: "[1,2,3]\n", columns: JSONL, problem: [":1: not a JSON object"] },
  { name: "JSONL: 100,000 nested arrays", file: "deep.jsonl", content: `${"[".repeat(100_000)}${"]".repeat(100_000)}\n`, columns: JSONL, problem: [":1: not a JSON object"] },
  { name: "JSONL: a 10 MB line that is not JSON", file: "long.jsonl", content: `${TEN_MB_LINE}\n`, columns: JSONL, problem: [":1: not JSON"] },
  { name: "JSONL: control characters JSON.parse quotes back", file: "escape.jsonl", content: '{"text":\u001b[31m"hi\t"}\r\n', columns: JSONL, problem: [":1: not JSON", "\\u001b"] },
  { name: "JSONL: invalid UTF-8", file: "utf8.jsonl", content: bytes('{"text":"h', [0xc0, 0xaf], '","v":3,"a":3}\n'), columns: JSONL, problem: [":1: field 'text': invalid UTF-8 (bytes c0 af)"] },
  // EmoBank.
  { name: "EmoBank: a split that is none of train/dev/test", file: "emobank.csv", content: "id,split,V,A,D,text\na,training,3,3,3,hi\n", columns: { format: "emobank" }, problem: [":2: field 'split': not a split ('training'"] },
  // Not a file.
  { name: "a symlink loop", file: "loop.csv", content: SYMLINK_LOOP, columns: GENERIC, problem: ["cannot read (ELOOP)"] },
  { name: "a folder", file: "folder.csv", content: FOLDER, columns: GENERIC, problem: ["cannot read (EISDIR)"] },
  { name: "a folder, its format to be told by its header", file: "sniffed.csv", content: FOLDER, columns: {}, problem: ["cannot read (EISDIR)"] },
  { name: "a symlink loop, its format to be told by its header", file: "sniffed-loop.csv", content: SYMLINK_LOOP, columns: {}, problem: ["cannot read (ELOOP)"] },
  { name: "no such file", file: "absent.csv", content: ABSENT, columns: GENERIC, problem: ["cannot read (ENOENT)"] }
]

const inRoot = temporaryFolder("carl-bad-va-")
/** The case's file in a folder of its own, with an --out beside it that must not appear. */
const setUp = async (index: number, badCase: VaCase) => {
  const dir = inRoot(`case-${index}`)
  const file = join(dir, badCase.file)
  await writeBadFile(file, badCase.content)
  return { dir, file, out: join(dir, "out") }
}

describe("VA data: each malformed file is one tagged error naming it, and nothing is written", () => {
  CASES.forEach((badCase, index) => {
    test(badCase.name, async () => {
      const { dir, file, out } = await setUp(index, badCase)
      const failure = await expectCleanFailure(
        dir,
        asCommand(
          trainCommand(
            defaultConfig(),
            // The model is never loaded: the data fails first.
            trainCommandOptions({ model: join(dir, "no-model"), data: [{ file, ...badCase.columns }], out, skipBadRows: badCase.skipBadRows ?? false })
          )
        ),
        [file, ...badCase.problem]
      )
      assert.equal(failure.tag, "DataError")
    })
  })
})

/** The CLI on one case: one line naming the file, exit 1, nothing written. */
const cliCase = async (index: number, args: ReadonlyArray<string>, mentions: ReadonlyArray<string>) => {
  const badCase = CASES[index]
  assert.ok(badCase !== undefined)
  const { dir, file, out } = await setUp(100 + index, badCase)
  await expectCleanCliFailure(dir, ["train", "--backend", "cpu", "--model", join(dir, "no-model"), "--data", file, ...args, "--out", out], [file, ...mentions])
}

let jsonlThroughCli: () => Promise<void>
before(() => {
  const columnFlags = ["--text-column", "text", "--valence-column", "v", "--arousal-column", "a", "--scale", "1,5"]
  jsonlThroughCli = startEarly(() =>
    cliCase(CASES.findIndex((c) => c.file === "escape.jsonl"), ["--format", "jsonl", ...columnFlags], [":1: not JSON", "\\u001b"])
  )
})

describe("VA data through the CLI", () => {
  test("JSONL: control characters in the quoted JSON stay escaped on the one line", () => jsonlThroughCli())
})
