/**
 * The flags that name a valence–arousal file's layout (`--format`, the column flags, `--scale`),
 * shared by every command that reads one: train (--data), eval (--va-data) and fit-head (--data).
 */
import type { Argv } from "yargs"
import type { DataFormat, DataSpec } from "../../plugins/data/va-spec.ts"

export const VA_FORMATS: ReadonlyArray<DataFormat> = ["emobank", "facebook-va", "csv", "tsv", "jsonl"]

export const vaDataFlags = <T>(command: Argv<T>, files: string) =>
  command
    .option("format", { choices: VA_FORMATS, describe: `format of every ${files} file (default: told by its header or extension)` })
    .option("text-column", { type: "string", describe: "column (or JSONL key) with the text" })
    .option("valence-column", { type: "string", describe: "column with valence" })
    .option("arousal-column", { type: "string", describe: "column with arousal" })
    .option("split-column", { type: "string", describe: "column with train/dev/test, if any" })
    .option("scale", { type: "string", describe: "nominal label scale min,max for Eq. 12 (EmoBank 1,5; Facebook posts 1,9)" })
    .option("skip-bad-rows", { type: "boolean", default: false, describe: "skip malformed rows, counting them per reason, instead of failing" })

export interface VaDataArgs {
  readonly format?: DataFormat | undefined
  readonly "text-column"?: string | undefined
  readonly "valence-column"?: string | undefined
  readonly "arousal-column"?: string | undefined
  readonly "split-column"?: string | undefined
  readonly scale?: string | undefined
}

/** --scale's shape; its meaning (min < max) is checked where the labels are read. */
export const checkScaleFlag = (scale: string | undefined): void => {
  if (scale !== undefined && !/^\s*-?[\d.]+\s*,\s*-?[\d.]+\s*$/.test(scale)) throw new Error(`--scale must be min,max (e.g. 1,5), got ${scale}`)
}

/** `files`, each with the layout the flags name. */
export const dataSpecs = (files: ReadonlyArray<string>, argv: VaDataArgs): Array<DataSpec> => {
  const [low, high] = (argv.scale ?? "").split(",").map(Number)
  const layout = {
    ...(argv.format === undefined ? {} : { format: argv.format }),
    ...(argv["text-column"] === undefined ? {} : { textColumn: argv["text-column"] }),
    ...(argv["valence-column"] === undefined ? {} : { valenceColumn: argv["valence-column"] }),
    ...(argv["arousal-column"] === undefined ? {} : { arousalColumn: argv["arousal-column"] }),
    ...(argv["split-column"] === undefined ? {} : { splitColumn: argv["split-column"] }),
    ...(argv.scale === undefined ? {} : { scale: { min: low ?? 0, max: high ?? 0 } })
  }
  return files.map((file) => ({ file, ...layout }))
}
