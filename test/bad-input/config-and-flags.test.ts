/**
 * Bad configuration files (`--config`) and bad flags. Configuration files are read by loadConfig,
 * which every command calls first: each case is one ConfigError naming the file and the field.
 * Flags are checked by the command line itself (yargs and bin/carl.ts), so their cases run the
 * CLI: each ends in one "carl: " line naming the flag, exit 1, and nothing written.
 */
import assert from "node:assert/strict"
import { join } from "node:path"
import { before, describe, test } from "node:test"
import { loadConfig } from "../../plugins/carl/config-file.ts"
import { ABSENT, binaryGarbage, expectCleanCliFailure, expectTaggedFailure, FOLDER, startEarly, SYMLINK_LOOP, TEN_MB_LINE, writeBadFile, type BadFile } from "../support/run-cli.ts"
import { temporaryFolder } from "../support/temp-folder.ts"

interface ConfigCase {
  readonly name: string
  readonly content: BadFile
  /** Flags merged over the file, as the commands pass them. */
  readonly flags?: Record<string, unknown>
  /** What the one line says after the file's path. */
  readonly problem: ReadonlyArray<string | RegExp>
}

const CASES: ReadonlyArray<ConfigCase> = [
  { name: "empty", content: "", problem: ["not valid JSON: Unexpected end of JSON input"] },
  { name: "truncated", content: '{"training": {"batchSize": 16', problem: ["not valid JSON: Expected ',' or '}' after property value"] },
  { name: "a JSON error quoting line breaks and an escape sequence", content: '{\n"seed":\n\u001b[31m 1}', problem: ["not valid JSON: Unexpected token '\\u001b'", "\\n"] },
  { name: "a list", content: "[]", problem: ["Expected object"] },
  { name: "null", content: "null", problem: ["Expected object"] },
  { name: "a string", content: '"cls"', problem: ["Expected object"] },
  { name: "a number where a group goes", content: '{"training": 5}', problem: ["field 'training': Expected object"] },
  { name: "a string for a number", content: '{"training": {"batchSize": "16"}}', problem: ["field 'training.batchSize': Expected number"] },
  { name: "a fraction for a whole number", content: '{"training": {"epochs": 1.5}}', problem: ["field 'training.epochs': Expected an integer"] },
  { name: "1e999 (Infinity)", content: '{"optimizer": {"learningRate": 1e999}}', problem: ["field 'optimizer.learningRate': Expected a finite number"] },
  { name: "NaN (not JSON)", content: '{"optimizer": {"learningRate": NaN}}', problem: ["not valid JSON"] },
  { name: "a batch size of 1e300", content: '{"training": {"batchSize": 1e300}}', problem: ["field 'training.batchSize': Expected an integer"] },
  { name: "a batch size past 2^53", content: '{"training": {"batchSize": 9007199254740993}}', problem: ["field 'training.batchSize': Expected an integer"] },
  { name: "a negative epsilon", content: '{"pgd": {"epsilon": -1}}', problem: ["field 'pgd.epsilon': Expected a value greater than or equal to 0"] },
  { name: "a momentum above 1", content: '{"momentum": {"initial": 1.5}}', problem: ["field 'momentum.initial'"] },
  { name: "a pooling carl does not have", content: '{"model": {"pooling": "max"}}', problem: ["field 'model.pooling'"] },
  { name: "an unknown field", content: '{"trainig": {"batchSize": 8}}', problem: ["field 'trainig': unknown field"] },
  { name: "an unknown field inside a group", content: '{"training": {"batch_size": 8}}', problem: ["field 'training.batch_size': unknown field"] },
  { name: "__proto__", content: '{"__proto__": {"seed": 5}}', problem: ["field '__proto__': unknown field"] },
  { name: "invalid UTF-8", content: Buffer.from([0x7b, 0x22, 0x73, 0xff, 0x22, 0x3a, 0x31, 0x7d]), problem: ["line 1: invalid UTF-8 at byte 3"] },
  { name: "binary garbage", content: binaryGarbage(), problem: [/line \d+: invalid UTF-8 at byte \d+/] },
  { name: "a 10 MB single line", content: `{"seed": "${TEN_MB_LINE}"}`, problem: ["field 'seed': Expected number"] },
  { name: "valid, but a flag out of range", content: '{"seed": 3}', flags: { training: { batchSize: 0 } }, problem: ["with flags: field 'training.batchSize': Expected a value greater than 0"] },
  { name: "a symlink loop", content: SYMLINK_LOOP, problem: ["cannot read the file (ELOOP)"] },
  { name: "a folder", content: FOLDER, problem: ["cannot read the file (EISDIR)"] },
  { name: "no such file", content: ABSENT, problem: ["cannot read the file (ENOENT)"] }
]

const inRoot = temporaryFolder("carl-bad-config-")

describe("--config: each malformed file is one ConfigError naming it and the field", () => {
  CASES.forEach((badCase, index) => {
    test(badCase.name, async () => {
      const file = inRoot(`case-${index}`, "config.json")
      await writeBadFile(file, badCase.content)
      const failure = await expectTaggedFailure(loadConfig(file, badCase.flags ?? {}), [file, ...badCase.problem])
      assert.equal(failure.tag, "ConfigError")
      assert.ok(failure.message.startsWith(file), failure.message)
    })
  })

  test("an empty --config path is named as the flag, not as a file called ''", async () => {
    const failure = await expectTaggedFailure(loadConfig("", {}), ["--config: names no file"])
    assert.equal(failure.tag, "ConfigError")
  })
})

interface FlagCase {
  readonly name: string
  /** With `{dir}` for the case's folder. */
  readonly args: ReadonlyArray<string>
  readonly mentions: ReadonlyArray<string | RegExp>
}

const FLAG_CASES: ReadonlyArray<FlagCase> = [
  { name: "a value outside the choices (yargs' message, on one line)", args: ["train", "--format", "xml", "--data", "{dir}/va.csv", "--out", "{dir}/out"], mentions: ['Invalid values: Argument: format, Given: "xml", Choices:'] },
  { name: "--data with no file", args: ["train", "--data", "--out", "{dir}/out"], mentions: ["--data needs at least one value"] },
  { name: "an empty --out", args: ["train", "--data", "{dir}/va.csv", "--out", ""], mentions: ["--out needs a value"] },
  { name: "a configuration file whose JSON error spans lines", args: ["smoke", "--backend", "cpu", "--config", "{dir}/config.json"], mentions: ["{dir}/config.json: not valid JSON: Unexpected token 'x'", "\\n"] },
  { name: "carl predict reads --config too (a bad one fails before the model loads)", args: ["predict", "--backend", "cpu", "--input", "{dir}/in.txt", "--config", "{dir}/config.json"], mentions: ["{dir}/config.json: not valid JSON"] },
  { name: "--config for a command that takes none", args: ["info", "--config", "{dir}/config.json"], mentions: ["carl info takes no --config"] }
]

/** The CLI on one case: one line naming the flag, exit 1, nothing written. */
const runFlagCase = async (flagCase: FlagCase, index: number) => {
  const dir = inRoot(`flags-${index}`)
  await writeBadFile(join(dir, "va.csv"), "text,v,a\nhi,3,3\nyo,2,2\n")
  await writeBadFile(join(dir, "in.txt"), "hello\n")
  await writeBadFile(join(dir, "config.json"), '{\n"seed":\n\n x}')
  const fill = (text: string) => text.replaceAll("{dir}", dir)
  const mentions = flagCase.mentions.map((mention) => (typeof mention === "string" ? fill(mention) : mention))
  const { run, line } = await expectCleanCliFailure(dir, flagCase.args.map(fill), mentions)
  assert.equal(run.status, 1, line)
}

let flagsThroughCli: Array<() => Promise<void>> = []
before(() => {
  // Two at a time beside the in-process cases: each CLI start is CPU-bound module loading.
  const first = FLAG_CASES.slice(0, 2).map((flagCase, index) => startEarly(() => runFlagCase(flagCase, index)))
  const rest = FLAG_CASES.slice(2).map((flagCase, index) => startEarly(async () => {
    await first[index]?.().catch(() => undefined)
    await runFlagCase(flagCase, index + 2)
  }))
  flagsThroughCli = [...first, ...rest]
})

describe("flags, through the CLI", () => {
  FLAG_CASES.forEach((flagCase, index) => {
    test(flagCase.name, () => flagsThroughCli[index]?.() ?? assert.fail("not started"))
  })
})
