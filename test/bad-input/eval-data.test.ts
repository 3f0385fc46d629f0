/**
 * Bad evaluation data for `carl eval --data-dir <dir> --tasks ...`: GoEmotions' TSVs, emotion list
 * and Ekman mapping, SST-5, MR, CR and EmoBank, each damaged in one place inside an otherwise
 * valid data folder (test/support/tiny-eval-data.ts). Every case ends in one tagged error naming
 * the file, before any model is loaded, and leaves the folder as it was: no results file, no cache
 * entry. All cases run through evalCommand in-process; a few through the CLI as well. The IMDB
 * archive has its own file (imdb-tar.test.ts).
 */
import assert from "node:assert/strict"
import { join } from "node:path"
import { before, describe, test } from "node:test"
import { evalCommand, type EvalTask } from "../../pipelines/eval/eval-command.ts"
import { asCommand } from "../support/as-command.ts"
import { ABSENT, binaryGarbage, bytes, expectCleanCliFailure, expectCleanFailure, FOLDER, startEarly, SYMLINK_LOOP, TEN_MB_LINE, type BadFile } from "../support/run-cli.ts"
import { evalCommandOptions } from "../support/run-options.ts"
import { temporaryFolder } from "../support/temp-folder.ts"
import { damagedEvalData, EKMAN_MAPPING, EMOTIONS, writeTinyEvalData } from "../support/tiny-eval-data.ts"

interface EvalCase {
  readonly name: string
  readonly task: EvalTask
  /** The file damaged, relative to the data folder. */
  readonly file: string
  readonly content: BadFile
  /** What the one line must say; the damaged file's path is checked too unless `names` says otherwise. */
  readonly problem: ReadonlyArray<string | RegExp>
  /** What the line names instead of the file (the missing-data message names the dataset and folder). */
  readonly names?: "data-dir"
}

const GE = "goemotions"
const mapping = (edit: (map: Record<string, Array<string>>) => void): string => {
  const map = Object.fromEntries(Object.entries(EKMAN_MAPPING).map(([name, emotions]) => [name, [...emotions]]))
  edit(map)
  return JSON.stringify(map)
}

const CASES: ReadonlyArray<EvalCase> = [
  // GoEmotions: {train,dev,test}.tsv.
  { name: "GoEmotions: an empty split", task: "ekman", file: `${GE}/train.tsv`, content: "", problem: ["train.tsv: empty file"] },
  { name: "GoEmotions: a line with two fields", task: "ekman", file: `${GE}/train.tsv`, content: "so happy\t17\n", problem: ["train.tsv:1: expected 3 tab-separated fields (text, labels, id), got 2"] },
  { name: "GoEmotions: a label id past the emotions", task: "ekman", file: `${GE}/dev.tsv`, content: "so happy\t17\tc1\nwow\t28\tc2\n", problem: ["dev.tsv:2: field 'labels': not a label id 0–27 ('28')"] },
  { name: "GoEmotions: a negative label id", task: "ekman", file: `${GE}/test.tsv`, content: "so happy\t-1\tc1\n", problem: ["field 'labels': not a label id 0–27 ('-1')"] },
  { name: "GoEmotions: a label id of 30 digits", task: "ekman", file: `${GE}/train.tsv`, content: `so happy\t${"9".repeat(30)}\tc1\n`, problem: ["field 'labels': not a label id 0–27"] },
  { name: "GoEmotions: a label that is a word", task: "ekman", file: `${GE}/train.tsv`, content: "so happy\tjoy\tc1\n", problem: ["field 'labels': not a label id 0–27 ('joy')"] },
  { name: "GoEmotions: no label", task: "ekman", file: `${GE}/train.tsv`, content: "so happy\t\tc1\n", problem: ["field 'labels': not a label id 0–27 ('')"] },
  { name: "GoEmotions: a label twice", task: "ekman", file: `${GE}/train.tsv`, content: "so happy\t17,17\tc1\n", problem: ["field 'labels': an id repeats ('17,17')"] },
  { name: "GoEmotions: invalid UTF-8", task: "ekman", file: `${GE}/train.tsv`, content: bytes("so happy\t17\tc1\nso ", [0xe2, 0x28, 0xa1], "\t17\tc2\n"), problem: ["train.tsv:2: invalid UTF-8 at byte 18"] },
  { name: "GoEmotions: binary garbage", task: "ekman", file: `${GE}/train.tsv`, content: binaryGarbage(), problem: [/train\.tsv:\d+: invalid UTF-8 at byte \d+/] },
  { name: "GoEmotions: a NUL byte", task: "ekman", file: `${GE}/train.tsv`, content: "so happy\t17\tc1\nso\u0000sad\t25\tc2\n", problem: ["train.tsv:2: a NUL byte: binary data, not text"] },
  { name: "GoEmotions: a 10 MB single line", task: "ekman", file: `${GE}/train.tsv`, content: TEN_MB_LINE, problem: ["train.tsv:1: expected 3 tab-separated fields (text, labels, id), got 1"] },
  { name: "GoEmotions: a split that is a symlink loop", task: "ekman", file: `${GE}/dev.tsv`, content: SYMLINK_LOOP, problem: ["dev.tsv: cannot read (ELOOP)"] },
  { name: "GoEmotions: a split that is a folder", task: "align", file: `${GE}/test.tsv`, content: FOLDER, problem: ["test.tsv: is a folder, not a file"] },
  { name: "GoEmotions: emotions.txt empty", task: "ekman", file: `${GE}/emotions.txt`, content: "", problem: ["emotions.txt: empty file"] },
  { name: "GoEmotions: an emotion listed twice", task: "ekman", file: `${GE}/emotions.txt`, content: `${[...EMOTIONS, "joy"].join("\n")}\n`, problem: ["emotions.txt:29: 'joy' listed twice"] },
  { name: "GoEmotions: a blank emotion name", task: "ekman", file: `${GE}/emotions.txt`, content: `admiration\n\namusement\n`, problem: ["emotions.txt:2: empty emotion name"] },
  { name: "GoEmotions: the Ekman mapping truncated", task: "ekman", file: `${GE}/ekman_mapping.json`, content: '{"anger": ["anger", "annoy', problem: ["ekman_mapping.json: not JSON ("] },
  { name: "GoEmotions: the mapping's JSON error quotes a line break", task: "ekman", file: `${GE}/ekman_mapping.json`, content: '{\n"anger":\n\u001b ["anger"]}', problem: ["ekman_mapping.json: not JSON (", "\\u001b"] },
  { name: "GoEmotions: the mapping a list", task: "ekman", file: `${GE}/ekman_mapping.json`, content: '[["anger"]]', problem: ["ekman_mapping.json: expected an object of class → emotions"] },
  { name: "GoEmotions: a class that is a string", task: "ekman", file: `${GE}/ekman_mapping.json`, content: '{"anger": "anger", "joy": ["joy"]}', problem: ["field 'anger': expected a list of emotion names"] },
  { name: "GoEmotions: a class with a number", task: "ekman", file: `${GE}/ekman_mapping.json`, content: '{"anger": ["anger", 3], "joy": ["joy"]}', problem: ["field 'anger': expected a list of emotion names"] },
  { name: "GoEmotions: an emotion the list does not have", task: "ekman", file: `${GE}/ekman_mapping.json`, content: mapping((map) => map["joy"]?.push("glee")), problem: ["field 'joy': 'glee' is not in emotions.txt"] },
  { name: "GoEmotions: an emotion in two classes", task: "ekman", file: `${GE}/ekman_mapping.json`, content: mapping((map) => map["sadness"]?.push("joy")), problem: ["field 'sadness': 'joy' is also in 'joy'"] },
  { name: "GoEmotions: a class with no emotion", task: "ekman", file: `${GE}/ekman_mapping.json`, content: mapping((map) => (map["surprise"] = [])), problem: ["field 'surprise': lists no emotion"] },
  { name: "GoEmotions: an empty mapping", task: "ekman", file: `${GE}/ekman_mapping.json`, content: "{}", problem: ["ekman_mapping.json: no class (the Ekman task needs at least two)"] },
  { name: "GoEmotions: invalid UTF-8 in the mapping", task: "ekman", file: `${GE}/ekman_mapping.json`, content: bytes('{"joy": ["jo', [0xff], '"]}'), problem: ["ekman_mapping.json:1: invalid UTF-8 at byte 12"] },
  { name: "GoEmotions: a file missing", task: "ekman", file: `${GE}/train.tsv`, content: ABSENT, names: "data-dir", problem: [/missing data: goemotions \(no .*train\.tsv\); fetch with: carl data fetch goemotions --data-dir /] },
  // SST-5: stsa.fine.{train,dev,test}.
  { name: "SST-5: a label past 4", task: "sst5", file: "sst5/stsa.fine.train", content: "3 fine\n7 so good\n", problem: ["stsa.fine.train:2: field 'label': expected \"<0-4> <text>\" ('7 so good')"] },
  { name: "SST-5: no label", task: "sst5", file: "sst5/stsa.fine.dev", content: "just text\n", problem: ["stsa.fine.dev:1: field 'label': expected \"<0-4> <text>\""] },
  { name: "SST-5: a label and no text", task: "sst5", file: "sst5/stsa.fine.test", content: "2 ok\n3 \n", problem: ["stsa.fine.test:2: field 'text': empty text"] },
  { name: "SST-5: a tab for the space", task: "sst5", file: "sst5/stsa.fine.test", content: "2\tok\n", problem: ["stsa.fine.test:1: field 'label'"] },
  { name: "SST-5: empty", task: "sst5", file: "sst5/stsa.fine.dev", content: "", problem: ["stsa.fine.dev: empty file"] },
  { name: "SST-5: only line breaks", task: "sst5", file: "sst5/stsa.fine.dev", content: "\n\n", problem: ["stsa.fine.dev:1: field 'label'"] },
  { name: "SST-5: invalid UTF-8", task: "sst5", file: "sst5/stsa.fine.dev", content: bytes("1 ", [0xc3, 0x28], "\n"), problem: ["stsa.fine.dev:1: invalid UTF-8 at byte 2"] },
  { name: "SST-5: binary garbage", task: "sst5", file: "sst5/stsa.fine.train", content: binaryGarbage(2048, 7), problem: [/stsa\.fine\.train:\d+: invalid UTF-8/] },
  { name: "SST-5: a NUL byte", task: "sst5", file: "sst5/stsa.fine.train", content: "1 ok\n2 o\u0000k\n", problem: ["stsa.fine.train:2: a NUL byte"] },
  { name: "SST-5: a symlink loop", task: "sst5", file: "sst5/stsa.fine.test", content: SYMLINK_LOOP, problem: ["stsa.fine.test: cannot read (ELOOP)"] },
  { name: "SST-5: a file missing", task: "sst5", file: "sst5/stsa.fine.test", content: ABSENT, names: "data-dir", problem: ["missing data: sst5", "fetch with: carl data fetch sst5"] },
  // MR: rt-polarity.{pos,neg}, Latin-1.
  { name: "MR: empty", task: "mr", file: "mr/rt-polarity.pos", content: "", problem: ["rt-polarity.pos: empty file"] },
  { name: "MR: only empty lines", task: "mr", file: "mr/rt-polarity.neg", content: " \n\n \n", problem: ["rt-polarity.neg: no sentences (3 empty lines)"] },
  { name: "MR: binary garbage (every byte is Latin-1)", task: "mr", file: "mr/rt-polarity.pos", content: bytes("a fine film\n", [0x00, 0x01, 0xff]), problem: ["rt-polarity.pos:2: a NUL byte: binary data, not text"] },
  { name: "MR: a symlink loop", task: "mr", file: "mr/rt-polarity.neg", content: SYMLINK_LOOP, problem: ["rt-polarity.neg: cannot read (ELOOP)"] },
  { name: "MR: a folder", task: "mr", file: "mr/rt-polarity.pos", content: FOLDER, problem: ["rt-polarity.pos: is a folder, not a file"] },
  // CR: senteval_tokenized/custrev.{pos,neg}, UTF-8.
  { name: "CR: invalid UTF-8", task: "cr", file: "cr/senteval_tokenized/custrev.pos", content: bytes("great phone\nbad ", [0x80], "\n"), problem: ["custrev.pos:2: invalid UTF-8 at byte 16"] },
  { name: "CR: empty", task: "cr", file: "cr/senteval_tokenized/custrev.neg", content: "", problem: ["custrev.neg: empty file"] },
  { name: "CR: only empty lines", task: "cr", file: "cr/senteval_tokenized/custrev.neg", content: "\r\n\r\n", problem: ["custrev.neg: no sentences (2 empty lines)"] },
  // EmoBank, for the va task.
  { name: "EmoBank: a header column twice", task: "va", file: "emobank/emobank.csv", content: "id,split,V,V,A,D,text\na,train,3,3,3,3,hi\n", problem: ["emobank.csv:1: field 'V': named twice in the header"] },
  { name: "EmoBank: a label off the scale", task: "va", file: "emobank/emobank.csv", content: "id,split,V,A,D,text\na,train,3,9.5,3,hi\n", problem: ["emobank.csv:2: field 'A': 9.5 is outside the scale 1–5"] }
]

const inRoot = temporaryFolder("carl-bad-eval-")
let goEmotionsThroughCli: () => Promise<void>
before(async () => {
  await writeTinyEvalData(inRoot("base"))
  goEmotionsThroughCli = startEarly(() => cliCase("GoEmotions: a label id past the emotions"))
})

/** A copy of the valid data folder with the case's damage, in a folder of its own. */
const setUp = (label: string, badCase: EvalCase) => damagedEvalData(inRoot("base"), inRoot(label), badCase.file, badCase.content)

const mentionsOf = (badCase: EvalCase, dataDir: string): ReadonlyArray<string | RegExp> =>
  badCase.names === "data-dir" ? [dataDir, ...badCase.problem] : [join(dataDir, badCase.file), ...badCase.problem]

/** The CLI on one case: one line naming the file, exit 1, nothing written (no results, no cache). */
const cliCase = async (name: string) => {
  const badCase = CASES.find((candidate) => candidate.name === name)
  assert.ok(badCase !== undefined, name)
  const { dir, dataDir, out, cacheDir, model } = await setUp(`cli-${CASES.indexOf(badCase)}`, badCase)
  const args = ["eval", "--backend", "cpu", "--model", model, "--tasks", badCase.task, "--data-dir", dataDir, "--out", out, "--cache-dir", cacheDir]
  await expectCleanCliFailure(dir, args, mentionsOf(badCase, dataDir))
}

describe("evaluation data: each malformed file is one tagged error naming it, and nothing is written", () => {
  CASES.forEach((badCase, index) => {
    test(badCase.name, async () => {
      const { dir, dataDir, out, cacheDir, model } = await setUp(`case-${index}`, badCase)
      // The model is never loaded: the data fails first.
      const program = asCommand(evalCommand(evalCommandOptions({ models: [model], tasks: [badCase.task], dataDir, out, cacheDir })))
      const failure = await expectCleanFailure(dir, program, mentionsOf(badCase, dataDir))
      assert.ok(["DataError", "EvalError"].includes(failure.tag), failure.tag)
    })
  })
})

describe("evaluation data through the CLI", () => {
  test("GoEmotions: a label id past the emotions", () => goEmotionsThroughCli())
})
