import { Schema } from "effect"

/**
 * A model could not be fetched from the Hugging Face hub or found in the cache. `problem` is
 * written as the whole line the CLI prints (it names the file, and the URL or cache path), so
 * `message` is `problem` as is; `repo` and `file` are there for code that handles the error.
 */
export class HubError extends Schema.TaggedError<HubError>()("HubError", {
  repo: Schema.String,
  file: Schema.String,
  problem: Schema.String
}) {
  override get message(): string {
    return this.problem
  }
}
