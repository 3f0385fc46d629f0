/**
 * A valence–arousal file as a user names it (`--data`/`--va-data` and the column flags) into the
 * reader options of its format: EmoBank and the Facebook posts are recognised by their header;
 * any other CSV, TSV or JSONL file needs its columns and its scale named.
 */
import { open } from "node:fs/promises"
import { Effect } from "effect"
import { DataError } from "./data-error.ts"
import type { Scale, VaCorpus } from "./types.ts"
import { readVaCorpus, type VaReadOptions } from "./va-corpus.ts"

export type DataFormat = "emobank" | "facebook-va" | "csv" | "tsv" | "jsonl"

export interface DataSpec {
  readonly file: string
  /** Told by the header when absent: EmoBank and the Facebook posts are recognised. */
  readonly format?: DataFormat
  readonly textColumn?: string
  readonly valenceColumn?: string
  readonly arousalColumn?: string
  readonly splitColumn?: string
  readonly scale?: Scale
}

/** The file's first line, to recognise a published format by its header; an unreadable file is an error naming why. */
const firstLine = (file: string): Effect.Effect<string, DataError> =>
  Effect.tryPromise({
    try: async () => {
      const handle = await open(file, "r")
      try {
        const buffer = Buffer.alloc(4096)
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0)
        return buffer.subarray(0, bytesRead).toString("utf8").replace(/^\uFEFF/, "").split(/\r?\n/)[0] ?? ""
      } finally {
        await handle.close()
      }
    },
    catch: (error) =>
      new DataError({ file, line: 0, field: "", problem: `cannot read (${(error as NodeJS.ErrnoException).code ?? String(error)})` })
  })

const vaReadOptions = (spec: DataSpec, skipBadRows: boolean): Effect.Effect<VaReadOptions, DataError> =>
  Effect.gen(function* () {
    const named = spec.textColumn !== undefined || spec.valenceColumn !== undefined || spec.arousalColumn !== undefined
    let format = spec.format
    if (format === undefined && !named) {
      const header = (yield* firstLine(spec.file)).toLowerCase()
      if (/^"?id"?,"?split"?,"?v"?,"?a"?,"?d"?/.test(header)) format = "emobank"
      else if (header.includes("valence1") && header.includes("arousal1")) format = "facebook-va"
    }
    if (format === "emobank" || format === "facebook-va") {
      return { format, skipBadRows, ...(spec.scale === undefined ? {} : { scale: spec.scale }) }
    }
    const fail = (field: string, problem: string) => new DataError({ file: spec.file, line: 0, field, problem })
    if (!named && format === undefined) {
      return yield* fail("", "not EmoBank or the Facebook posts; name the columns with --text-column, --valence-column, --arousal-column and give --scale")
    }
    if (spec.textColumn === undefined) return yield* fail("text", "--text-column is required for this file")
    if (spec.valenceColumn === undefined) return yield* fail("valence", "--valence-column is required for this file")
    if (spec.arousalColumn === undefined) return yield* fail("arousal", "--arousal-column is required for this file")
    if (spec.scale === undefined) return yield* fail("scale", "--scale min,max is required: the file does not say what its numbers mean (EmoBank: 1,5)")
    return {
      ...(format === undefined ? {} : { format }),
      textColumn: spec.textColumn,
      valenceColumn: spec.valenceColumn,
      arousalColumn: spec.arousalColumn,
      ...(spec.splitColumn === undefined ? {} : { splitColumn: spec.splitColumn }),
      scale: spec.scale,
      skipBadRows
    }
  })

/** Reads the file `spec` names, in its format, labels normalised on its scale (Eq. 12). */
export const readVaSpec = (spec: DataSpec, skipBadRows: boolean): Effect.Effect<VaCorpus, DataError> =>
  vaReadOptions(spec, skipBadRows).pipe(Effect.flatMap((options) => readVaCorpus(spec.file, options)))
