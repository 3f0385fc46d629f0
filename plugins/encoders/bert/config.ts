/** The fields of a Hugging Face BERT/RoBERTa config.json that change what the model computes. */
export interface BertConfig {
  readonly modelType: "bert" | "roberta"
  readonly vocabSize: number
  readonly hiddenSize: number
  readonly numHiddenLayers: number
  readonly numAttentionHeads: number
  readonly intermediateSize: number
  readonly maxPositionEmbeddings: number
  readonly typeVocabSize: number
  readonly layerNormEps: number
  readonly padTokenId: number
  /** hidden_dropout_prob and attention_probs_dropout_prob (Hugging Face's default 0.1), in training only. */
  readonly hiddenDropoutProb: number
  readonly attentionProbsDropoutProb: number
}

/** A tiny random BERT for smoke runs and tests: seconds on one core. */
export const TINY_BERT_CONFIG: BertConfig = {
  modelType: "bert",
  vocabSize: 1000,
  hiddenSize: 32,
  numHiddenLayers: 2,
  numAttentionHeads: 2,
  intermediateSize: 64,
  maxPositionEmbeddings: 128,
  typeVocabSize: 2,
  layerNormEps: 1e-12,
  padTokenId: 0,
  hiddenDropoutProb: 0,
  attentionProbsDropoutProb: 0
}

export const checkBertConfig = (config: BertConfig): string | undefined => {
  if (config.hiddenSize % config.numAttentionHeads !== 0) {
    return `hidden_size ${config.hiddenSize} is not a multiple of num_attention_heads ${config.numAttentionHeads}`
  }
  for (const [field, value] of Object.entries(config)) {
    if (typeof value === "number" && (!Number.isFinite(value) || value < 0)) return `${field} must be a finite number ≥ 0`
  }
  if (config.hiddenDropoutProb >= 1 || config.attentionProbsDropoutProb >= 1) return "dropout probabilities must be below 1"
  return undefined
}
