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
