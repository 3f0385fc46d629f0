/**
 * A tiny BERT folder in Hugging Face layout, written by the test: random weights saved by carl's
 * own saveBertDirectory (config.json, model.safetensors) and a made-up WordPiece tokenizer.json of
 * a few dozen tokens (no copy of a real vocabulary), so a model folder costs milliseconds to load.
 * The one builder of such folders: the bad-input suite uses the defaults, test/support/tiny-run.ts
 * its own smaller model and vocabulary.
 */
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { Effect } from "effect"
import { SeededRandom } from "../../core/random.ts"
import { saveBertDirectory } from "../../plugins/encoders/index.ts"
import { type BertConfig } from "../../plugins/encoders/index.ts"
import { TINY_BERT_CONFIG } from "../../plugins/encoders/index.ts"
import { BertEncoder } from "../../plugins/encoders/index.ts"

const SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
// Single letters ("i", "a") come with LETTERS: a token listed twice would have two ids.
const WORDS = ["love", "hate", "this", "movie", "film", "it", "was", "great", "awful", "the", "!", ".", ",", "?"]
const LETTERS = "abcdefghijklmnopqrstuvwxyz0123456789".split("")

/** The vocabulary: special tokens first ([PAD] is 0), then words, letters and ##letters. */
export const TINY_VOCAB: ReadonlyArray<string> = [...SPECIAL, ...WORDS, ...LETTERS, ...LETTERS.map((letter) => `##${letter}`)]

export const TINY_BERT_DIR_CONFIG: BertConfig = { ...TINY_BERT_CONFIG, vocabSize: 128, maxPositionEmbeddings: 64 }

/** An entry of tokenizer.json's added_tokens: a special token. */
export const addedToken = (id: number, content: string) => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: false,
  special: true
})

/** tokenizer.json shaped like bert-base-uncased's, over `vocab` (which holds the special tokens). */
export const tinyTokenizerJson = (vocab: ReadonlyArray<string> = TINY_VOCAB): Record<string, unknown> => {
  const id = (token: string) => vocab.indexOf(token)
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: SPECIAL.map((token) => addedToken(id(token), token)),
    normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "[CLS]", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "[SEP]", type_id: 0 } }],
      pair: [
        { SpecialToken: { id: "[CLS]", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "[SEP]", type_id: 0 } },
        { Sequence: { id: "B", type_id: 1 } },
        { SpecialToken: { id: "[SEP]", type_id: 1 } }
      ],
      special_tokens: {
        "[CLS]": { id: "[CLS]", ids: [id("[CLS]")], tokens: ["[CLS]"] },
        "[SEP]": { id: "[SEP]", ids: [id("[SEP]")], tokens: ["[SEP]"] }
      }
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: {
      type: "WordPiece",
      unk_token: "[UNK]",
      continuing_subword_prefix: "##",
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab.map((token, index) => [token, index]))
    }
  }
}

export const tinyTokenizerConfigJson = (): Record<string, unknown> => ({
  tokenizer_class: "BertTokenizer",
  do_lower_case: true,
  pad_token: "[PAD]",
  unk_token: "[UNK]",
  cls_token: "[CLS]",
  sep_token: "[SEP]",
  mask_token: "[MASK]",
  model_max_length: 64
})

export interface TinyBertDirOptions {
  /** The random weights' seed; 5 by default. */
  readonly seed?: number
  /** TINY_BERT_DIR_CONFIG by default; its vocabSize must cover `vocab`. */
  readonly config?: BertConfig
  /** TINY_VOCAB by default: special tokens first. */
  readonly vocab?: ReadonlyArray<string>
  /** tokenizer_config.json; tinyTokenizerConfigJson() by default. */
  readonly tokenizerConfig?: Record<string, unknown>
}

/**
 * Writes a loadable tiny BERT folder at `dir`: config.json, model.safetensors, tokenizer.json and
 * tokenizer_config.json. Leaves no tensors behind.
 */
export const writeTinyBertDir = async (dir: string, options: TinyBertDirOptions = {}): Promise<void> => {
  const encoder = BertEncoder.random(options.config ?? TINY_BERT_DIR_CONFIG, new SeededRandom(options.seed ?? 5), { trainable: false })
  try {
    await Effect.runPromise(saveBertDirectory(encoder, dir))
  } finally {
    encoder.parameters.dispose()
  }
  await writeFile(join(dir, "tokenizer.json"), JSON.stringify(tinyTokenizerJson(options.vocab)))
  await writeFile(join(dir, "tokenizer_config.json"), JSON.stringify(options.tokenizerConfig ?? tinyTokenizerConfigJson()))
}
