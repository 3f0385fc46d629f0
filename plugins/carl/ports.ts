/**
 * The ports of the CARL graph (Fig. 1 of the paper): the wires its nodes read and give. Custom
 * plugins may define more with `definePort` and `lossPort` (core/ports.ts).
 */
import { definePort, lossPort } from "../../core/ports.ts"

export const Ports = {
  tokenIds: definePort("tokenIds", 2, "int32", "[batch, seq] token ids", { constant: true, perToken: true }),
  attentionMask: definePort("attentionMask", 2, "float32", "[batch, seq] 1 for real tokens, 0 for padding", {
    constant: true,
    perToken: true
  }),
  vaLabels: definePort("vaLabels", 2, "float32", "[batch, 2] valence and arousal in [-1, 1]", { constant: true }),
  tokenEmbeddings: definePort("tokenEmbeddings", 3, "float32", "[batch, seq, hidden] input word embeddings e_t", { perToken: true }),
  hiddenStates: definePort("hiddenStates", 3, "float32", "[batch, seq, hidden] last encoder layer, online", { perToken: true }),
  sentenceEmbedding: definePort("sentenceEmbedding", 2, "float32", "[batch, hidden] pooled online sentence vector"),
  onlineProjection: definePort("onlineProjection", 2, "float32", "[batch, proj] online projection head output"),
  onlinePrediction: definePort("onlinePrediction", 2, "float32", "[batch, proj] online prediction head output p"),
  targetHiddenStates: definePort("targetHiddenStates", 3, "float32", "[batch, seq, hidden] last layer, target", { perToken: true }),
  targetSentenceEmbedding: definePort(
    "targetSentenceEmbedding",
    2,
    "float32",
    "[batch, hidden] pooled target sentence vector"
  ),
  targetEmbedding: definePort("targetEmbedding", 2, "float32", "[batch, proj] target projection z"),
  saliency: definePort("saliency", 2, "float32", "[batch, seq] ‖∂L/∂e_t‖₂, -1 on padding", { constant: true, perToken: true }),
  perturbedMask: definePort("perturbedMask", 2, "float32", "[batch, seq] 1 for the tokens PGD perturbs", {
    constant: true,
    perToken: true
  }),
  perturbation: definePort("perturbation", 3, "float32", "[batch, seq, hidden] PGD perturbation δ", {
    constant: true,
    perToken: true
  }),
  perturbationNorm: definePort(
    "perturbationNorm",
    0,
    "float32",
    "largest realised per-token ‖ẽ_t − e_t‖₂ after float32 rounding",
    { constant: true }
  ),
  perturbedEmbeddings: definePort("perturbedEmbeddings", 3, "float32", "[batch, seq, hidden] e + δ on selected tokens", { perToken: true }),
  perturbedHiddenStates: definePort(
    "perturbedHiddenStates",
    3,
    "float32",
    "[batch, seq, hidden] last layer on the perturbed sequence",
    { perToken: true }
  ),
  tokenLogits: definePort("tokenLogits", 2, "float32", "[batch, seq] perturbed-token detection logits", { perToken: true }),
  mcclLoss: lossPort("mccl", "MCCL loss, Eq. 6"),
  ptdLoss: lossPort("ptd", "perturbed token detection focal loss, Eq. 10"),
  objective: definePort("objective", 0, "float32", "λ-weighted sum of the loss ports, Eq. 11", { constant: true })
} as const
