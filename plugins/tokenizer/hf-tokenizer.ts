/**
 * Hugging Face tokenizers from a model directory (tokenizer.json, tokenizer_config.json): WordPiece
 * for BERT, byte-level BPE for RoBERTa. @huggingface/tokenizers normalises, pre-tokenises, runs the
 * model and knows the special tokens; it has no batching, padding or truncation, so those are here.
 */
import { readFile } from "node:fs/promises"
import { join } from "node:path"
import { Tokenizer as UntypedTokenizer } from "@huggingface/tokenizers"
import { Effect, Predicate, Schema } from "effect"

/**
 * The part of @huggingface/tokenizers' Tokenizer used here. Its own types/index.d.ts re-exports
 * "./core/Tokenizer" without an extension, which NodeNext resolution cannot follow, so the import
 * arrives as `any`; this keeps the rest of the file typed.
 */
interface LibraryTokenizer {
  readonly post_processor: {
    post_process(tokens: Array<string>, pair: null, addSpecialTokens: boolean): { tokens: Array<string> }
  } | null
  encode(text: string, options: { add_special_tokens: boolean }): { ids: Array<number | undefined>; tokens: Array<string> }
  decode(ids: Array<number>, options: { skip_special_tokens: boolean }): string
  token_to_id(token: string): number | undefined
}
const Tokenizer = UntypedTokenizer as unknown as new (tokenizerJson: object, config: object) => LibraryTokenizer

export class TokenizerError extends Schema.TaggedError<TokenizerError>()("TokenizerError", {
  file: Schema.String,
  problem: Schema.String
}) {
  override get message(): string {
    return `${this.file}: ${this.problem}`
  }
}

/** Row-major [batch, seqLength] arrays, ready for `tf.tensor2d`. */
export interface EncodedBatch {
  readonly ids: Int32Array
  readonly attentionMask: Float32Array
  readonly batch: number
  readonly seqLength: number
  /** How many of the texts lost tokens to `maxLength`. */
  readonly truncated: number
}

export interface HfTokenizer {
  readonly directory: string
  readonly padTokenId: number
  /** tokenizer_config.json's `model_max_length`, unless it is transformers' "no limit" sentinel. */
  readonly modelMaxLength: number | undefined
  /** The ids the post-processor puts around a single text: [CLS] … [SEP] for BERT, <s> … </s> for RoBERTa. */
  readonly specialIds: { readonly prefix: ReadonlyArray<number>; readonly suffix: ReadonlyArray<number> }
  /** One text with its special tokens, never truncated. */
  encode(text: string): Array<number>
  /**
   * Texts padded with `padTokenId` to the longest in the batch. A text longer than `maxLength`
   * (special tokens included) loses tokens from its end but keeps its closing special token.
   * A `maxLength` with no room for the special tokens is a RangeError: a caller's mistake.
   */
  encodeBatch(texts: ReadonlyArray<string>, options: { readonly maxLength: number }): EncodedBatch
  decode(ids: ReadonlyArray<number>, options?: { readonly skipSpecialTokens?: boolean }): string
}

// transformers writes this (int(1e30)) when a tokenizer has no length limit.
const NO_LENGTH_LIMIT = 1e18

// A token no vocabulary contains, so its place in the post-processor's output marks where the text goes.
const TEXT_MARKER = "\u0000carl-text\u0000"

const firstLine = (error: unknown): string => String(error instanceof Error ? error.message : error).split("\n")[0] ?? ""

type JsonObject = Record<string, unknown>

const isJsonObject = (value: unknown): value is JsonObject => Predicate.isObject(value) && !Array.isArray(value)

/** The file's JSON object, or undefined when there is no such file. */
const readJsonObject = (path: string): Effect.Effect<JsonObject | undefined, TokenizerError> =>
  Effect.gen(function* () {
    const text = yield* Effect.tryPromise({
      try: () => readFile(path, "utf8"),
      catch: (error) => error as NodeJS.ErrnoException
    }).pipe(
      Effect.catch((error) =>
        error.code === "ENOENT"
          ? Effect.succeed(undefined)
          : Effect.fail(new TokenizerError({ file: path, problem: `cannot read the file (${error.code ?? firstLine(error)})` }))
      )
    )
    if (text === undefined) return undefined
    const parsed = yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: (error) => new TokenizerError({ file: path, problem: `not valid JSON: ${firstLine(error)}` })
    })
    if (!isJsonObject(parsed)) {
      return yield* new TokenizerError({ file: path, problem: "not a JSON object" })
    }
    return parsed
  })

/** `"[PAD]"` or transformers' serialised AddedToken `{ "content": "[PAD]", … }`. */
const tokenContent = (value: unknown): string | undefined =>
  typeof value === "string" ? value : isJsonObject(value) && typeof value["content"] === "string" ? value["content"] : undefined

const findPadTokenId = (
  tokenizer: LibraryTokenizer,
  sources: ReadonlyArray<{ readonly file: string; readonly json: JsonObject | undefined }>,
  tokenizerJson: { readonly file: string; readonly json: JsonObject }
): Effect.Effect<number, TokenizerError> =>
  Effect.gen(function* () {
    // transformers lets tokenizer_config.json's pad_token override tokenizer.json's padding section.
    for (const { file, json } of sources) {
      const pad = tokenContent(json?.["pad_token"])
      if (pad === undefined) continue
      const id = tokenizer.token_to_id(pad)
      if (id === undefined) {
        return yield* new TokenizerError({ file, problem: `pad_token '${pad}' is not in the vocabulary` })
      }
      return id
    }
    const padding = tokenizerJson.json["padding"]
    if (isJsonObject(padding) && Number.isInteger(padding["pad_id"])) return padding["pad_id"] as number
    return yield* new TokenizerError({
      file: tokenizerJson.file,
      problem: "no pad token: neither tokenizer_config.json nor special_tokens_map.json has pad_token, and there is no padding.pad_id"
    })
  })

const specialIdsAroundText = (
  tokenizer: LibraryTokenizer,
  file: string
): Effect.Effect<{ prefix: Array<number>; suffix: Array<number> }, TokenizerError> =>
  Effect.gen(function* () {
    const processor = tokenizer.post_processor
    if (processor === null) return { prefix: [], suffix: [] }
    const tokens = yield* Effect.try({
      try: () => processor.post_process([TEXT_MARKER], null, true).tokens,
      catch: (error) => new TokenizerError({ file, problem: `the post_processor fails: ${firstLine(error)}` })
    })
    const at = tokens.indexOf(TEXT_MARKER)
    if (at < 0 || tokens.lastIndexOf(TEXT_MARKER) !== at) {
      return yield* new TokenizerError({ file, problem: "the post_processor does not place the text exactly once" })
    }
    const ids: Array<number> = []
    for (const token of tokens) {
      if (token === TEXT_MARKER) continue
      const id = tokenizer.token_to_id(token)
      if (id === undefined) {
        return yield* new TokenizerError({ file, problem: `the post_processor adds '${token}', which is not in the vocabulary` })
      }
      ids.push(id)
    }
    return { prefix: ids.slice(0, at), suffix: ids.slice(at) }
  })

/** Loads `directory/tokenizer.json` (required) and `tokenizer_config.json` (optional, as transformers allows). */
export const loadTokenizer = Effect.fn("loadTokenizer")(function* (directory: string) {
  const tokenizerFile = join(directory, "tokenizer.json")
  const configFile = join(directory, "tokenizer_config.json")
  const specialTokensFile = join(directory, "special_tokens_map.json")
  const tokenizerJson = yield* readJsonObject(tokenizerFile)
  if (tokenizerJson === undefined) {
    return yield* new TokenizerError({
      file: tokenizerFile,
      problem: "not found (carl needs the fast tokenizer's tokenizer.json; vocab.txt or vocab.json alone is not enough)"
    })
  }
  const config = (yield* readJsonObject(configFile)) ?? {}
  const specialTokensMap = yield* readJsonObject(specialTokensFile)

  const tokenizer = yield* Effect.try({
    try: () => new Tokenizer(tokenizerJson, config),
    catch: (error) =>
      new TokenizerError({ file: tokenizerFile, problem: `@huggingface/tokenizers cannot load it: ${firstLine(error)}` })
  })
  const padTokenId = yield* findPadTokenId(
    tokenizer,
    [
      { file: configFile, json: config },
      { file: specialTokensFile, json: specialTokensMap }
    ],
    { file: tokenizerFile, json: tokenizerJson }
  )
  const specialIds = yield* specialIdsAroundText(tokenizer, tokenizerFile)
  const declaredMax = config["model_max_length"]
  const modelMaxLength =
    typeof declaredMax === "number" && Number.isInteger(declaredMax) && declaredMax > 0 && declaredMax < NO_LENGTH_LIMIT
      ? declaredMax
      : undefined

  const textIds = (text: string): Array<number> => {
    const { ids, tokens } = tokenizer.encode(text, { add_special_tokens: false })
    return ids.map((id, i) => {
      // The library yields `undefined` for a token the vocabulary lacks when the model has no unk token.
      if (id === undefined || !Number.isInteger(id)) {
        throw new TokenizerError({
          file: tokenizerFile,
          problem: `'${tokens[i] ?? "?"}' in ${JSON.stringify(text.slice(0, 60))} has no id and the model has no unk_token`
        })
      }
      return id
    })
  }

  const hfTokenizer: HfTokenizer = {
    directory,
    padTokenId,
    modelMaxLength,
    specialIds,
    encode: (text) => [...specialIds.prefix, ...textIds(text), ...specialIds.suffix],
    encodeBatch: (texts, { maxLength }) => {
      const specialCount = specialIds.prefix.length + specialIds.suffix.length
      if (!Number.isInteger(maxLength) || maxLength < Math.max(1, specialCount)) {
        throw new RangeError(`maxLength must be an integer ≥ ${Math.max(1, specialCount)} (the special tokens), got ${maxLength}`)
      }
      const textBudget = maxLength - specialCount
      let truncated = 0
      const rows = texts.map((text) => {
        const ids = textIds(text)
        if (ids.length > textBudget) truncated++
        return [...specialIds.prefix, ...ids.slice(0, textBudget), ...specialIds.suffix]
      })
      const seqLength = rows.reduce((longest, row) => Math.max(longest, row.length), 0)
      const ids = new Int32Array(rows.length * seqLength).fill(padTokenId)
      const attentionMask = new Float32Array(rows.length * seqLength)
      rows.forEach((row, r) => {
        ids.set(row, r * seqLength)
        attentionMask.fill(1, r * seqLength, r * seqLength + row.length)
      })
      return { ids, attentionMask, batch: rows.length, seqLength, truncated }
    },
    decode: (ids, options = {}) =>
      ids.length === 0 ? "" : tokenizer.decode([...ids], { skip_special_tokens: options.skipSpecialTokens ?? false })
  }
  return hfTokenizer
})
