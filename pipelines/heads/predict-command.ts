/**
 * `carl predict`: valence and arousal of each input line, in input order — on the head's corpus's
 * nominal scale (EmoBank: 1–5, 3 neutral) and on [−1, 1] (Eq. 12) — and with --emotion the
 * nearest of Ekman's six emotions and its probability. The model's VA head (model-heads.ts) reads
 * the embeddings the encoder gives with the pooling and length the head was fitted with.
 */
import { Console, Effect, Schema } from "effect"
import { problemText } from "../../core/errors.ts"
import { readLines, writeText } from "../../core/text-file.ts"
import { loadTextEncoderScoped } from "../../plugins/encoders/load-text-encoder.ts"
import { TokenizerError } from "../../plugins/encoders/tokenizer/hf-tokenizer.ts"
import {
  predictEkman,
  predictVa,
  toNominal,
  type EkmanPrediction,
  type VaHeadCard,
  type VaPrediction
} from "../../plugins/readouts/index.ts"
import { embedTexts } from "../embed.ts"
import { checkHeadWidth, modelWithHeads, readModelHeads } from "./model-heads.ts"

export const PREDICT_FORMATS = ["table", "jsonl", "csv", "tsv"] as const
export type PredictFormat = (typeof PREDICT_FORMATS)[number]

export class PredictError extends Schema.TaggedError<PredictError>()("PredictError", {
  problem: Schema.String
}) {
  override get message(): string {
    return this.problem
  }
}

export interface PredictOptions {
  readonly model: string
  /** A text file, one input per line, or "-" for standard input. */
  readonly input: string
  /** A file (written atomically) or "-" for standard output. */
  readonly output: string
  readonly format: PredictFormat
  /** Also the nearest Ekman emotion (needs the model's ekman-head). */
  readonly emotion: boolean
  /** Heads from this folder instead of the model's. */
  readonly head?: string | undefined
  readonly batchSize: number
  readonly offline: boolean
}

export interface PredictionRow {
  readonly text: string
  readonly va: VaPrediction
  readonly emotion?: EkmanPrediction
}

const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : "NaN")

const csvField = (value: string, separator: string) =>
  value.includes(separator) || value.includes('"') || value.includes("\n") || value.includes("\r") ? `"${value.replaceAll('"', '""')}"` : value

/** The rows in the chosen format; nominal columns only when the head knows its corpus's scale. */
export const formatPredictions = (rows: ReadonlyArray<PredictionRow>, card: VaHeadCard, format: PredictFormat): string => {
  const scale = card.corpus.scale
  const emotion = rows.some((row) => row.emotion !== undefined)
  const columns = (row: PredictionRow) => ({
    ...(scale === null ? {} : { valence: Number(toNominal(row.va.valence, scale).toFixed(4)), arousal: Number(toNominal(row.va.arousal, scale).toFixed(4)) }),
    valence_norm: Number(row.va.valence.toFixed(4)),
    arousal_norm: Number(row.va.arousal.toFixed(4)),
    ...(row.emotion === undefined ? {} : { emotion: row.emotion.emotion, emotion_probability: Number(row.emotion.probability.toFixed(4)) })
  })
  switch (format) {
    case "jsonl":
      return rows.map((row) => `${JSON.stringify({ text: row.text, ...columns(row) })}\n`).join("")
    case "csv":
    case "tsv": {
      const separator = format === "csv" ? "," : "\t"
      const names = [...(scale === null ? [] : ["valence", "arousal"]), "valence_norm", "arousal_norm", ...(emotion ? ["emotion", "emotion_probability"] : []), "text"]
      const line = (row: PredictionRow) => {
        const values: Record<string, unknown> = { ...columns(row), text: row.text }
        return names.map((name) => csvField(String(values[name] ?? ""), separator)).join(separator)
      }
      return [names.join(separator), ...rows.map(line)].map((text) => `${text}\n`).join("")
    }
    case "table": {
      const range = scale === null ? undefined : `${scale.min}–${scale.max}`
      const header = [
        ...(range === undefined ? [] : [`valence (${range})`, `arousal (${range})`]),
        "valence [−1,1]",
        "arousal [−1,1]",
        ...(emotion ? ["emotion"] : []),
        "text"
      ]
      const cells = rows.map((row) => [
        ...(scale === null ? [] : [fixed(toNominal(row.va.valence, scale), 2), fixed(toNominal(row.va.arousal, scale), 2)]),
        fixed(row.va.valence, 3),
        fixed(row.va.arousal, 3),
        ...(row.emotion === undefined ? (emotion ? [""] : []) : [`${row.emotion.emotion} ${fixed(row.emotion.probability, 2)}`]),
        row.text.replace(/[\t\r\n]/g, " ")
      ])
      // Numbers right-aligned, the emotion left-aligned, the text as it is (last, so never padded).
      const numbers = header.length - 1 - (emotion ? 1 : 0)
      const widths = header.map((name, i) => Math.max(name.length, ...cells.map((cell) => (cell[i] ?? "").length)))
      const render = (cell: ReadonlyArray<string>) =>
        cell.map((value, i) => (i === cell.length - 1 ? value : i < numbers ? value.padStart(widths[i] ?? 0) : value.padEnd(widths[i] ?? 0))).join("  ")
      return [render(header), ...cells.map(render)].map((text) => `${text.trimEnd()}\n`).join("")
    }
  }
}

export const predictCommand = Effect.fn("predictCommand")(function* (options: PredictOptions) {
  const resolved = yield* modelWithHeads(options.model, { headDir: options.head, hub: { offline: options.offline } })
  if (resolved.note !== undefined) yield* Console.error(`carl: ${resolved.note}`)
  const { va, ekman } = yield* readModelHeads(resolved.headDir, options.model, options.emotion ? "required" : "none")
  if (options.input === "-" && process.stdin.isTTY) yield* Console.error("carl: reading text from the terminal, one input per line; end with Ctrl-D")
  const texts = yield* readLines(options.input)

  const text = yield* loadTextEncoderScoped(resolved.model, { trainable: false, hub: { offline: options.offline } })
  const { pooling, maxLength } = va.card.encoder
  const vectors = yield* Effect.sync(() => embedTexts(text, texts, { pooling, batchSize: options.batchSize, maxLength: Math.min(maxLength, text.maxLength) }).vectors).pipe(
    Effect.catchDefect((defect) => (defect instanceof TokenizerError ? Effect.fail(defect) : Effect.die(defect)))
  )
  yield* checkHeadWidth(resolved.headDir, va, options.model, resolved.model, vectors[0]?.length)
  const rows = yield* Effect.try({
    try: () => {
      const vaPredictions = predictVa(va.readout, vectors)
      const emotions = ekman === undefined ? undefined : predictEkman(ekman.readout, vectors)
      return texts.map((input, i): PredictionRow => {
        const emotion = emotions?.[i]
        return { text: input, va: vaPredictions[i] as VaPrediction, ...(emotion === undefined ? {} : { emotion }) }
      })
    },
    catch: (error) => new PredictError({ problem: problemText(error) })
  })
  yield* writeText(options.output, formatPredictions(rows, va.card, options.format))
})
