/**
 * Bad IMDB archives for `carl eval --tasks imdb`: entries whose path escapes the archive (`../x`,
 * absolute paths, through GNU long names and pax records), truncated and corrupt gzip and tar
 * streams, headers that lie, reviews that are not text. The reader streams the archive and never
 * extracts it; each case must end in one tagged error naming the archive, leave the data folder as
 * it was and put nothing where an escaping entry points.
 */
import assert from "node:assert/strict"
import { stat } from "node:fs/promises"
import { join } from "node:path"
import { before, describe, test } from "node:test"
import { gzipSync } from "node:zlib"
import { evalCommand } from "../../pipelines/eval/eval-command.ts"
import { asCommand } from "../support/as-command.ts"
import { binaryGarbage, expectCleanCliFailure, expectCleanFailure, FOLDER, startEarly, SYMLINK_LOOP, type BadFile } from "../support/run-cli.ts"
import { evalCommandOptions } from "../support/run-options.ts"
import { temporaryFolder } from "../support/temp-folder.ts"
import { tarEntry, tarHeader } from "../support/tar.ts"
import { damagedEvalData, writeTinyEvalData } from "../support/tiny-eval-data.ts"

const IMDB = "imdb/aclImdb_train_test_text.tar.gz"
const END = Buffer.alloc(1024)

const review = (split: "train" | "test", polarity: "pos" | "neg", id: number, rating: number, text = `a ${polarity} review ${id}`) =>
  tarEntry(`aclImdb/${split}/${polarity}/${id}_${rating}.txt`, text)

/** One review per split and polarity: a valid archive to put a bad entry into. */
const GOOD = [review("train", "pos", 0, 9), review("train", "neg", 1, 2), review("test", "pos", 2, 8), review("test", "neg", 3, 1)]

const archive = (...entries: ReadonlyArray<Buffer>): Buffer => gzipSync(Buffer.concat([...entries, END]))

/** A GNU long-name record ('L') naming the entry after it. */
const longName = (path: string, body = "x"): Buffer =>
  Buffer.concat([tarEntry("././@LongLink", Buffer.from(`${path}\0`), "L"), tarEntry(path.slice(0, 99), body)])

/** A pax extended header ('x') with a path record, then the entry it describes. */
const paxPath = (path: string, body = "x"): Buffer => {
  const record = (key: string, value: string) => {
    const text = ` ${key}=${value}\n`
    let length = text.length + 1
    while (`${length}${text}`.length !== length) length = `${length}${text}`.length
    return `${length}${text}`
  }
  return Buffer.concat([tarEntry("PaxHeaders/x", Buffer.from(record("path", path)), "x"), tarEntry("placeholder", body)])
}

/** A header whose size field is not octal; its checksum is made right so only the size is wrong. */
const badSizeEntry = (): Buffer => {
  const block = tarHeader("aclImdb/train/pos/5_9.txt", 3, "0")
  block.write("zzzzzzzzzzz\0", 124, "ascii")
  block.write("        ", 148, "ascii")
  let sum = 0
  for (const byte of block) sum += byte
  block.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "ascii")
  return Buffer.concat([block, Buffer.alloc(512)])
}

interface ImdbCase {
  readonly name: string
  /** The archive, or a path that is not a file; given the case's folder, for paths that point into it. */
  readonly content: (dir: string) => BadFile
  readonly problem: ReadonlyArray<string | RegExp>
  /** Where an escaping entry would have written, relative to the case's folder or absolute: must not exist after. */
  readonly target?: (dir: string) => string
}

const CASES: ReadonlyArray<ImdbCase> = [
  {
    name: "an entry ../x",
    content: () => archive(...GOOD, tarEntry("../x", "escaped")),
    problem: [`entry "../x": the path is absolute or climbs out with '..'`],
    target: (dir) => join(dir, "data", "x")
  },
  {
    name: "an entry that climbs out from inside the folder",
    content: () => archive(GOOD[0] as Buffer, tarEntry("aclImdb/train/../../../escaped.txt", "escaped")),
    problem: [`entry "aclImdb/train/../../../escaped.txt": the path is absolute or climbs out with '..'`],
    target: (dir) => join(dir, "escaped.txt")
  },
  {
    name: "an absolute path",
    content: (dir) => archive(tarEntry(join(dir, "absolute.txt"), "escaped")),
    problem: ["the path is absolute or climbs out with '..' (tar offset 0)"],
    target: (dir) => join(dir, "absolute.txt")
  },
  { name: "a Windows drive path", content: () => archive(tarEntry("C:\\evil.txt", "escaped")), problem: [`entry "C:\\\\evil.txt": the path is absolute`] },
  { name: "backslashes that climb out", content: () => archive(tarEntry("..\\..\\evil.txt", "escaped")), problem: ["climbs out with '..'"] },
  {
    name: "a GNU long name that climbs out",
    content: () => archive(...GOOD, longName(`../${"y".repeat(150)}.txt`)),
    problem: [/entry "\.\.\/y+\.txt": the path is absolute or climbs out/]
  },
  {
    name: "a pax path that is absolute",
    content: (dir) => archive(paxPath(join(dir, "pax.txt"))),
    problem: ["pax.txt\": the path is absolute"],
    target: (dir) => join(dir, "pax.txt")
  },
  { name: "the gzip stream cut in half", content: () => archive(...GOOD).subarray(0, 200), problem: ["not a valid gzip stream (unexpected end of file)"] },
  { name: "the tar cut inside a review", content: () => gzipSync(Buffer.concat(GOOD).subarray(0, 700)), problem: [`entry "aclImdb/train/pos/0_9.txt": the archive is truncated`] },
  { name: "not gzip", content: () => "plain text, not an archive\n", problem: ["not a valid gzip stream (incorrect header check)"] },
  { name: "gzip of binary garbage", content: () => gzipSync(binaryGarbage()), problem: ["header checksum mismatch (not a tar archive, or corrupt) (tar offset 0)"] },
  {
    name: "a header byte flipped",
    content: () => {
      const tar = Buffer.concat([...GOOD, END])
      tar[600 + 512] = (tar[600 + 512] ?? 0) ^ 0xff
      tar[1024 + 30] = 0x41
      return gzipSync(tar)
    },
    problem: ["header checksum mismatch (not a tar archive, or corrupt) (tar offset 1024)"]
  },
  { name: "a size field that is not a number", content: () => archive(badSizeEntry()), problem: [`entry "aclImdb/train/pos/5_9.txt": bad size field`] },
  { name: "an empty file", content: () => "", problem: ["not a valid gzip stream (unexpected end of file)"] },
  { name: "an empty archive", content: () => gzipSync(END), problem: ["no train reviews in the archive"] },
  { name: "no test reviews", content: () => archive(GOOD[0] as Buffer, GOOD[1] as Buffer), problem: ["no test reviews in the archive"] },
  { name: "a review in invalid UTF-8", content: () => archive(GOOD[0] as Buffer, tarEntry("aclImdb/test/neg/4_2.txt", Buffer.from([0x61, 0xff, 0x62]))), problem: [`entry "aclImdb/test/neg/4_2.txt": invalid UTF-8`] },
  { name: "an empty review", content: () => archive(...GOOD, review("test", "pos", 9, 10, "  \n")), problem: [`entry "aclImdb/test/pos/9_10.txt": empty review`] },
  { name: "a rating outside its polarity", content: () => archive(review("train", "neg", 0, 8)), problem: [`entry "aclImdb/train/neg/0_8.txt": rating 8 does not belong in neg (1–4)`] },
  { name: "a symlink loop", content: () => SYMLINK_LOOP, problem: ["cannot read (ELOOP)"] },
  { name: "a folder", content: () => FOLDER, problem: ["is a folder, not a file"] }
]

const inRoot = temporaryFolder("carl-bad-imdb-")
let escapeThroughCli: () => Promise<void>
before(async () => {
  await writeTinyEvalData(inRoot("base"))
  escapeThroughCli = startEarly(async () => {
    const badCase = CASES[0]
    assert.ok(badCase?.target !== undefined)
    const { dir, dataDir, out, cacheDir, model } = await setUp("cli-0", badCase)
    const args = ["eval", "--backend", "cpu", "--model", model, "--tasks", "imdb", "--max-examples", "2", "--data-dir", dataDir, "--out", out, "--cache-dir", cacheDir]
    await expectCleanCliFailure(dir, args, [join(dataDir, IMDB), `entry "../x": the path is absolute or climbs out with '..'`])
    await absent(badCase.target(dir))
  })
})

const setUp = (label: string, badCase: ImdbCase) => damagedEvalData(inRoot("base"), inRoot(label), IMDB, badCase.content(inRoot(label)))

const absent = async (path: string) => {
  await assert.rejects(stat(path), { code: "ENOENT" }, `${path} was written`)
}

describe("IMDB archive: each bad archive is one tagged error naming it; nothing is extracted or written", () => {
  CASES.forEach((badCase, index) => {
    test(badCase.name, async () => {
      const { dir, dataDir, out, cacheDir, model } = await setUp(`case-${index}`, badCase)
      const program = asCommand(evalCommand(evalCommandOptions({ models: [model], tasks: ["imdb"], dataDir, out, maxExamples: 2, cacheDir })))
      const failure = await expectCleanFailure(dir, program, [join(dataDir, IMDB), ...badCase.problem])
      assert.ok(["DataError", "EvalError"].includes(failure.tag), failure.tag)
      if (badCase.target !== undefined) await absent(badCase.target(dir))
    })
  })
})

describe("IMDB archive through the CLI", () => {
  test("an entry ../x: one line, exit 1, nothing written", () => escapeThroughCli())
})
