/** `carl embed`: one JSON array per input line, in input order. */
import { Console, Effect } from "effect"
import { Backend } from "../plugins/backends/index.ts"
import { readLines, writeText } from "../core/text-file.ts"
import type { Pooling } from "../plugins/encoders/index.ts"
import { loadTextEncoderScoped } from "../plugins/encoders/load-text-encoder.ts"
import { TokenizerError } from "../plugins/encoders/tokenizer/hf-tokenizer.ts"
import { embedTexts } from "./embed.ts"

export interface EmbedCommandOptions {
  readonly model: string
  readonly input: string
  readonly output: string
  readonly pooling: Pooling
  readonly batchSize: number
  readonly maxLength: number
  readonly offline: boolean
}

/** Shortest decimal that reads back as the same float32. */
const float32Text = (value: number): string => String(Number(value.toPrecision(9)))

export const embedCommand = Effect.fn("embedCommand")(function* (options: EmbedCommandOptions) {
  const backend = yield* Backend
  const texts = yield* readLines(options.input)
  const model = yield* loadTextEncoderScoped(options.model, { trainable: false, hub: { offline: options.offline } })
  const maxLength = Math.min(options.maxLength, model.maxLength)
  const started = performance.now()
  // The tokenizer throws its TokenizerError for a token it has no id for (a vocabulary without
  // unk_token): a failure naming tokenizer.json, not a defect.
  const { vectors, truncated } = yield* Effect.sync(() => embedTexts(model, texts, { ...options, maxLength })).pipe(
    Effect.catchDefect((defect) => (defect instanceof TokenizerError ? Effect.fail(defect) : Effect.die(defect)))
  )
  const seconds = (performance.now() - started) / 1000
  if (truncated > 0) {
    yield* Console.error(`carl: note: ${truncated} of ${texts.length} input lines were longer than ${maxLength} tokens and were truncated`)
  }
  const lines = vectors.map((vector) => `[${Array.from(vector, float32Text).join(",")}]\n`)
  yield* writeText(options.output, lines.join(""))
  yield* Console.error(
    `carl: embedded ${texts.length} lines with ${model.name} (${vectors[0]?.length ?? model.encoder.hiddenSize} dimensions, ${options.pooling} pooling) ` +
      `on ${backend.name} in ${seconds.toFixed(1)} s (${(texts.length / Math.max(seconds, 1e-9)).toFixed(1)} lines/s)`
  )
})
