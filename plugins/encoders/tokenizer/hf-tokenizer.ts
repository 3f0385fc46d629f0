/**
 * Hugging Face tokenizers from a model directory (tokenizer.json, tokenizer_config.json): WordPiece
 * for BERT, byte-level BPE for RoBERTa. @huggingface/tokenizers normalises, pre-tokenises, runs the
 * model and knows the special tokens; it has no batching, padding or truncation, so those are here.
 */
import { padRows, type EncodedBatch } from "./pad-rows.ts"

export type { EncodedBatch } from "./pad-rows.ts"
import { readFile } from "node:fs/promises"
import { join } from "node:path"
import { Tokenizer as UntypedTokenizer } from "@huggingface/tokenizers"
import { Effect, Predicate, Schema } from "effect"
import { oneLine, problemText } from "../../../core/errors.ts"
import { decodeUtf8 } from "../../../core/text-file.ts"

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
  get_vocab(withAddedTokens: boolean): Map<string, unknown>
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

export interface HfTokenizer {
  readonly directory: string
  readonly padTokenId: number
  /** One more than the largest id of the vocabulary (added tokens included): the embedding rows it needs. */
  readonly vocabularySize: number
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
  /** encodeBatch's rows before padding. */
  encodeRows(texts: ReadonlyArray<string>, options: { readonly maxLength: number }): { readonly rows: ReadonlyArray<Int32Array>; readonly truncated: number }
  decode(ids: ReadonlyArray<number>, options?: { readonly skipSpecialTokens?: boolean }): string
}

// transformers writes this (int(1e30)) when a tokenizer has no length limit.
const NO_LENGTH_LIMIT = 1e18

const MAX_TOKEN_ID = 0x7fffffff

// A token no vocabulary contains, so its place in the post-processor's output marks where the text goes.
const TEXT_MARKER = "\u0000carl-text\u0000"

const firstLine = (error: unknown): string => oneLine(String(error instanceof Error ? error.message : error).split("\n")[0] ?? "")

type JsonObject = Record<string, unknown>

const isJsonObject = (value: unknown): value is JsonObject => Predicate.isObject(value) && !Array.isArray(value)

/** A JSON file's bytes as its object; `file` names it in the error. */
export const decodeJsonObject = (bytes: Uint8Array, file: string): Effect.Effect<JsonObject, TokenizerError> =>
  Effect.gen(function* () {
    const text = yield* decodeUtf8(bytes, file).pipe(Effect.mapError((error) => new TokenizerError({ file, problem: error.problem })))
    const parsed = yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: (error) => new TokenizerError({ file, problem: `not valid JSON: ${problemText(error)}` })
    })
    if (!isJsonObject(parsed)) {
      return yield* new TokenizerError({ file, problem: "not a JSON object" })
    }
    return parsed
  })

/** The file's JSON object, or undefined when there is no such file. */
const readJsonObject = (path: string): Effect.Effect<JsonObject | undefined, TokenizerError> =>
  Effect.gen(function* () {
    const bytes = yield* Effect.tryPromise({
      try: () => readFile(path),
      catch: (error) => error as NodeJS.ErrnoException
    }).pipe(
      Effect.catch((error) =>
        error.code === "ENOENT"
          ? Effect.succeed(undefined)
          : Effect.fail(new TokenizerError({ file: path, problem: `cannot read the file (${error.code ?? firstLine(error)})` }))
      )
    )
    if (bytes === undefined) return undefined
    return yield* decodeJsonObject(bytes, path)
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
    const padId = isJsonObject(padding) ? padding["pad_id"] : undefined
    if (typeof padId === "number" && Number.isInteger(padId) && padId >= 0 && padId <= MAX_TOKEN_ID) return padId
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

/** What a model folder's tokenizer files hold, already parsed. */
export interface TokenizerFiles {
  /** tokenizer.json. */
  readonly tokenizer: JsonObject
  /** tokenizer_config.json, when the folder has one. */
  readonly config?: JsonObject | undefined
  /** special_tokens_map.json, when the folder has one. */
  readonly specialTokensMap?: JsonObject | undefined
}

// A sentence the tokenizer must get through, so a tokenizer.json the library accepts but cannot
// run fails here, naming the file, and not at the first batch.
const PROBE_TEXT = "Carl probes 42 words, once."

/** Every token → id pair tokenizer.json spells out: its model's vocab object (WordPiece, BPE) and its added tokens. */
const declaredIds = (tokenizerJson: JsonObject): Array<readonly [string, unknown]> => {
  const model = tokenizerJson["model"]
  const vocab = isJsonObject(model) ? model["vocab"] : undefined
  const pairs: Array<readonly [string, unknown]> = isJsonObject(vocab) ? Object.entries(vocab) : []
  const added = tokenizerJson["added_tokens"]
  if (Array.isArray(added)) {
    for (const token of added) if (isJsonObject(token)) pairs.push([String(token["content"]), token["id"]])
  }
  return pairs
}

/** Loads `directory/tokenizer.json` (required) and `tokenizer_config.json` (optional, as transformers allows). */
export const loadTokenizer = Effect.fn("loadTokenizer")(function* (directory: string) {
  const tokenizerFile = join(directory, "tokenizer.json")
  const tokenizerJson = yield* readJsonObject(tokenizerFile)
  if (tokenizerJson === undefined) {
    return yield* new TokenizerError({
      file: tokenizerFile,
      problem: "not found (carl needs the fast tokenizer's tokenizer.json; vocab.txt or vocab.json alone is not enough)"
    })
  }
  const config = yield* readJsonObject(join(directory, "tokenizer_config.json"))
  const specialTokensMap = yield* readJsonObject(join(directory, "special_tokens_map.json"))
  return yield* tokenizerFromFiles(directory, { tokenizer: tokenizerJson, config, specialTokensMap })
})

/** The tokenizer the parsed files of `directory` describe; errors name the file at fault. */
export const tokenizerFromFiles = Effect.fn("tokenizerFromFiles")(function* (directory: string, files: TokenizerFiles) {
  const tokenizerFile = join(directory, "tokenizer.json")
  const configFile = join(directory, "tokenizer_config.json")
  const specialTokensFile = join(directory, "special_tokens_map.json")
  const tokenizerJson = files.tokenizer
  const config = files.config ?? {}
  const specialTokensMap = files.specialTokensMap

  const model = tokenizerJson["model"]
  const vocab = isJsonObject(model) ? model["vocab"] : undefined
  if (vocab !== undefined && !isJsonObject(vocab) && !Array.isArray(vocab)) {
    return yield* new TokenizerError({ file: tokenizerFile, problem: `model.vocab is ${oneLine(JSON.stringify(vocab) ?? "?").slice(0, 40)}, not a vocabulary` })
  }
  const tokenizer = yield* Effect.try({
    try: () => {
      const made = new Tokenizer(tokenizerJson, config)
      made.encode(PROBE_TEXT, { add_special_tokens: true })
      return made
    },
    catch: (error) =>
      new TokenizerError({ file: tokenizerFile, problem: `@huggingface/tokenizers cannot load it: ${firstLine(error)}` })
  })
  // Ids go into an Int32Array and index the embedding table: a vocabulary entry with an id that is
  // not a small non-negative integer (-3, 1e300, "7") would silently become another token. The
  // library passes the file's ids through as they are, so they are checked as the file has them.
  const vocabulary = yield* Effect.try({
    try: () => [...tokenizer.get_vocab(true), ...declaredIds(tokenizerJson)],
    catch: (error) => new TokenizerError({ file: tokenizerFile, problem: `@huggingface/tokenizers cannot list the vocabulary: ${firstLine(error)}` })
  })
  let largestId = -1
  for (const [token = "", id] of vocabulary) {
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id > MAX_TOKEN_ID) {
      return yield* new TokenizerError({
        file: tokenizerFile,
        problem: `token ${oneLine(JSON.stringify(token.slice(0, 40)))} has id ${oneLine(String(JSON.stringify(id)).slice(0, 40))}, not an integer in 0–${MAX_TOKEN_ID}`
      })
    }
    largestId = Math.max(largestId, id)
  }
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
    vocabularySize: largestId + 1,
    modelMaxLength,
    specialIds,
    encode: (text) => [...specialIds.prefix, ...textIds(text), ...specialIds.suffix],
    encodeRows: (texts, { maxLength }) => {
      const specialCount = specialIds.prefix.length + specialIds.suffix.length
      if (!Number.isInteger(maxLength) || maxLength < Math.max(1, specialCount)) {
        throw new RangeError(`maxLength must be an integer ≥ ${Math.max(1, specialCount)} (the special tokens), got ${maxLength}`)
      }
      const textBudget = maxLength - specialCount
      let truncated = 0
      const rows = texts.map((text) => {
        const ids = textIds(text)
        if (ids.length > textBudget) truncated++
        return Int32Array.from([...specialIds.prefix, ...ids.slice(0, textBudget), ...specialIds.suffix])
      })
      return { rows, truncated }
    },
    encodeBatch: (texts, options) => {
      const { rows, truncated } = hfTokenizer.encodeRows(texts, options)
      return padRows(rows, padTokenId, { truncated })
    },
    decode: (ids, options = {}) =>
      ids.length === 0 ? "" : tokenizer.decode([...ids], { skip_special_tokens: options.skipSpecialTokens ?? false })
  }
  return hfTokenizer
})
