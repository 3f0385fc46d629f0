/**
 * carl's tagged errors. Each carries what a user needs to fix the problem: the file, the field,
 * the port, the plugin. `message` is the one line the CLI prints.
 */
import { Schema } from "effect"

export class GraphWiringError extends Schema.TaggedError<GraphWiringError>()("GraphWiringError", {
  plugin: Schema.String,
  port: Schema.String,
  problem: Schema.String
}) {
  override get message(): string {
    return `graph wiring: plugin '${this.plugin}', port '${this.port}': ${this.problem}`
  }
}

export class GraphRunError extends Schema.TaggedError<GraphRunError>()("GraphRunError", {
  plugin: Schema.String,
  problem: Schema.String
}) {
  override get message(): string {
    return `graph run: plugin '${this.plugin}': ${this.problem}`
  }
}

export class ConfigError extends Schema.TaggedError<ConfigError>()("ConfigError", {
  source: Schema.String,
  field: Schema.String,
  problem: Schema.String
}) {
  override get message(): string {
    return `${this.source}: ${this.field === "" ? "" : `field '${this.field}': `}${this.problem}`
  }
}

export class BackendUnavailable extends Schema.TaggedError<BackendUnavailable>()("BackendUnavailable", {
  backend: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `backend '${this.backend}' is not available: ${this.reason}`
  }
}

export class NonFiniteLoss extends Schema.TaggedError<NonFiniteLoss>()("NonFiniteLoss", {
  step: Schema.Number,
  losses: Schema.String
}) {
  override get message(): string {
    return `step ${this.step}: non-finite loss (${this.losses}); training stopped`
  }
}

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g

/**
 * Text made safe for a one-line message: line breaks, tabs, escape sequences and other control
 * characters written as escapes (`\n`, `\u001b`), so a value quoted from a file (JSON.parse quotes
 * the text around its fault) can neither break the line nor drive the terminal.
 */
export const oneLine = (text: string): string =>
  text.replace(CONTROL, (char) => {
    if (char === "\n") return "\\n"
    if (char === "\r") return "\\r"
    if (char === "\t") return "\\t"
    return `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`
  })

/** A thrown value's message as one line, for messages that quote a library's complaint. */
export const problemText = (error: unknown): string => oneLine(error instanceof Error ? error.message : String(error))

/**
 * Something did not fit in memory: the wasm heap, the process's memory, or the machine's. `what`
 * says what was being done and what did not fit, `advice` what to change; nothing written before
 * (checkpoints, run files) is touched.
 */
export class OutOfMemory extends Schema.TaggedError<OutOfMemory>()("OutOfMemory", {
  what: Schema.String,
  advice: Schema.String
}) {
  override get message(): string {
    return `out of memory: ${this.what}; ${this.advice}`
  }
}
