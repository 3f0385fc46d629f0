import { Schema } from "effect"
import { oneLine } from "../../core/errors.ts"
import type { TextFileError } from "../../core/text-file.ts"

/**
 * A corpus file that cannot be read as published. `line` is 1-based (0 when the problem is the
 * whole file) and `field` names the column or key (empty when no single field is at fault), so
 * `message` is the one line a user needs: "emobank.csv:12: field 'V': not a number ('abc')".
 */
export class DataError extends Schema.TaggedError<DataError>()("DataError", {
  file: Schema.String,
  line: Schema.Number,
  field: Schema.String,
  problem: Schema.String
}) {
  override get message(): string {
    const where = this.line > 0 ? `${this.file}:${this.line}` : this.file
    // A field name comes from the file (a quoted header may hold line breaks): shown on one line, shortened.
    const field = oneLine(this.field.length > 60 ? `${this.field.slice(0, 60)}…` : this.field)
    return oneLine(`${where}: ${this.field === "" ? "" : `field '${field}': `}${this.problem}`)
  }
}

/** readUtf8's errors say "line N: …" inside `problem`; lifted out so DataError's line is a number. */
export const fromTextFileError = (error: TextFileError): DataError => {
  const match = /^line (\d+): (.*)$/.exec(error.problem)
  return new DataError({
    file: error.file,
    line: match === null ? 0 : Number(match[1]),
    field: "",
    problem: match === null ? error.problem : (match[2] ?? error.problem)
  })
}

/** A value quoted for a one-line message: escapes newlines and tabs, shortened when long. */
export const quoteValue = (value: string, limit = 40): string => {
  const shown = value.length > limit ? `${value.slice(0, limit)}…` : value
  return `'${JSON.stringify(shown).slice(1, -1).replace(/\\"/g, '"')}'`
}
