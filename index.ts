/**
 * carl: emotion-aware sentence embeddings with CARL, on tfjs and Effect.
 *
 * Tensors in, tensors out; scalars as tf.Scalar. The graph builder and every plugin are here,
 * so a pipeline can be composed in code.
 */
export { AdamW, DEFAULT_ADAMW, type AdamWOptions } from "./core/adamw.ts"
export { Backend, BACKEND_CHOICES, selectBackend, useBackend, type BackendChoice, type BackendInfo, type BackendName } from "./core/backend.ts"
export { CarlConfigSchema, decodeConfig, defaultConfig, type CarlConfig, type CarlConfigInput } from "./core/config.ts"
export { cosineMatrix } from "./core/cosine-similarity.ts"
export { dense } from "./core/dense.ts"
export { stopGradient } from "./core/stop-gradient.ts"
export { embeddingLookup } from "./core/embedding-lookup.ts"
export { BackendUnavailable, ConfigError, GraphRunError, GraphWiringError, NonFiniteLoss } from "./core/errors.ts"
export { runForward, runTrainingPass, trainingStages, type Pass, type StepClock } from "./core/executor.ts"
export { assembleGraph, Graph, GraphBuilder, type WiringCheck } from "./core/graph.ts"
export { ParameterSet } from "./core/parameters.ts"
export { definePlugin, withPorts, type AnyPlugin, type Plugin, type RunContext } from "./core/plugin.ts"
export { definePort, gradientPort, lossPort, Ports, type Port, type PortMap } from "./core/ports.ts"
export { SeededRandom } from "./core/random.ts"
export { Rng } from "./core/rng.ts"
export { trainStep, type StepReport } from "./core/train-step.ts"
export * from "./plugins/encoder/index.ts"
export * from "./plugins/heads/index.ts"
export * from "./plugins/mccl/index.ts"
export * from "./plugins/momentum/index.ts"
export * from "./plugins/objective/index.ts"
export * from "./plugins/ptd/index.ts"
export * from "./plugins/saliency-pgd/index.ts"
export {
  CARL_VARIANTS,
  carlGraph,
  carlGraphBuilder,
  carlInputs,
  carlParameterSets,
  createCarlModel,
  disposeCarlModel,
  graphParameterSets,
  mcclGraphBuilder,
  type CarlBatch,
  type CarlModel,
  type CarlVariant,
  type CustomGraph
} from "./pipelines/carl-graph.ts"
export { train, Diverged, EvaluationFailed, Interrupted, InvalidExample, RunFileError, type TrainOptions, type TrainSummary } from "./pipelines/train/train.ts"
export { loadTrainingData, type DataSpec } from "./pipelines/train/load-training-data.ts"
export { loadTextEncoder, type TextEncoder } from "./plugins/encoder/load-text-encoder.ts"
export { embedTexts } from "./pipelines/embed.ts"

// Hugging Face tokenizers and hub downloads
export { loadTokenizer, TokenizerError, type EncodedBatch, type HfTokenizer } from "./plugins/tokenizer/hf-tokenizer.ts"
export * from "./plugins/hub/index.ts"

// Corpora as published: VA training data (EmoBank, Facebook posts, any CSV/TSV/JSONL) and evaluation sets
export * as data from "./plugins/data/index.ts"
