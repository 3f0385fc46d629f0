import { Schema } from "effect"

/**
 * A dataset could not be fetched into the cache. `problem` is written as the whole line the CLI
 * prints (it names the dataset and file, and says what to do: usually where to put the file by
 * hand), so `message` is `problem` as is; `dataset` and `file` are there for code that handles it.
 */
export class DataFetchError extends Schema.TaggedError<DataFetchError>()("DataFetchError", {
  dataset: Schema.String,
  file: Schema.String,
  problem: Schema.String
}) {
  override get message(): string {
    return this.problem
  }
}
