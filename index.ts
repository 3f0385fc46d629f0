/**
 * carl: emotion-aware sentence embeddings with CARL, on tfjs and Effect.
 *
 * Tensors in, tensors out; scalars as tf.Scalar. The graph builder and every plugin are here,
 * so a pipeline can be composed in code.
 */
export { AdamW, DEFAULT_ADAMW, type AdamWOptions } from "./core/adamw.ts"
export { type BackendName } from "./plugins/backends/index.ts"
export { type BackendInfo } from "./plugins/backends/index.ts"
export { type BackendChoice } from "./plugins/backends/index.ts"
export { useBackend } from "./plugins/backends/index.ts"
export { selectBackend } from "./plugins/backends/index.ts"
export { BACKEND_CHOICES } from "./plugins/backends/index.ts"
export { Backend } from "./plugins/backends/index.ts"
export { CarlConfigSchema, decodeConfig, defaultConfig, type CarlConfig, type CarlConfigInput } from "./plugins/carl/config.ts"
export { cosineMatrix } from "./core/cosine-similarity.ts"
export { dense } from "./core/dense.ts"
export { stopGradient } from "./core/stop-gradient.ts"
export { embeddingLookup } from "./core/embedding-lookup.ts"
export { BackendUnavailable, ConfigError, GraphRunError, GraphWiringError, NonFiniteLoss } from "./core/errors.ts"
export { runForward, runTrainingPass, trainingStages, type Pass, type StepClock } from "./core/executor.ts"
export { assembleGraph, Graph, GraphBuilder, type WiringCheck } from "./core/graph.ts"
export { ParameterSet } from "./core/parameters.ts"
export { definePlugin, withPorts, type AnyPlugin, type Plugin, type RunContext } from "./core/plugin.ts"
export { definePort, gradientPort, lossPort, type Port, type PortMap } from "./core/ports.ts"
export { Ports } from "./plugins/carl/ports.ts"
export { SeededRandom } from "./core/random.ts"
export { Rng } from "./core/rng.ts"
export { trainStep, type StepReport } from "./core/train-step.ts"
export * from "./plugins/carl/encoder.ts"
export * from "./plugins/encoders/index.ts"
export * from "./plugins/carl/heads/index.ts"
export * from "./plugins/carl/mccl/index.ts"
export * from "./plugins/carl/momentum/index.ts"
export * from "./plugins/carl/objective/index.ts"
export * from "./plugins/carl/ptd/index.ts"
export * from "./plugins/carl/saliency-pgd/index.ts"
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
export { loadTextEncoder, type TextEncoder } from "./plugins/encoders/load-text-encoder.ts"
export { embedTexts } from "./pipelines/embed.ts"

// Hugging Face tokenizers and hub downloads
export { loadTokenizer, TokenizerError, type EncodedBatch, type HfTokenizer } from "./plugins/encoders/tokenizer/hf-tokenizer.ts"
export * from "./plugins/encoders/hub/index.ts"

// Corpora as published: VA training data (EmoBank, Facebook posts, any CSV/TSV/JSONL) and evaluation sets
export * as data from "./plugins/data/index.ts"

// Evaluators: the contract (an embedding function in, named metrics out), the paper's evaluators,
// and the statistics they report
export { evaluatorList, isImprovement, type EmbedTexts, type EvaluationResult, type Evaluator } from "./plugins/evaluators/evaluator.ts"
export { vaRegressionEvaluator, type VaSplit } from "./plugins/evaluators/va-regression.ts"
export { crossValidatedProbeEvaluator, devProbeEvaluator, heldOutProbeEvaluator } from "./plugins/evaluators/classification-probes.ts"
export { embeddingGeometryEvaluator } from "./plugins/evaluators/embedding-geometry.ts"
export { mean, meanAbsoluteError, pearson, spearman } from "./plugins/evaluators/math/statistics.ts"

// Every error carl fails with, each in the module that owns it (a unique _tag each)
export { OutOfMemory } from "./core/errors.ts"
export { SafetensorsError } from "./core/safetensors.ts"
export { TextFileError } from "./core/text-file.ts"
export { CheckpointError as TrainingCheckpointError } from "./pipelines/train/checkpoint.ts"
export { RunMismatch } from "./pipelines/train/resume.ts"
export { StepFailed } from "./pipelines/train/step-failure.ts"
export { ModelLoadError } from "./plugins/encoders/load-text-encoder.ts"
export { UseLiteCheckpointError } from "./plugins/encoders/use-lite/checkpoint.ts"
export { UseLiteFileError } from "./plugins/encoders/use-lite/artifacts.ts"
export { DataError } from "./plugins/data/data-error.ts"
export { DownloadError } from "./plugins/data/download.ts"
export { DataFetchError } from "./plugins/data/fetch/data-fetch-error.ts"
export { TarSubsetError } from "./plugins/data/fetch/tar-subset.ts"
export { EvalError } from "./pipelines/eval/eval-data.ts"
export { EmbeddingCacheError } from "./pipelines/eval/embedding-cache.ts"
export { WorkerThreadError } from "./pipelines/eval/worker-thread.ts"
export { ResultsFileError } from "./pipelines/report/results-schema.ts"
export { BenchOptionError } from "./pipelines/bench/options.ts"
export { BenchPeerError } from "./pipelines/bench/peer.ts"
export { HeadFileError, HeadMismatch, HeadMissing } from "./plugins/readouts/index.ts"
export { HeadFitFailed } from "./pipelines/heads/fit-va-head.ts"
export { PredictError } from "./pipelines/heads/predict-command.ts"
export { ServeError } from "./pipelines/serve/serve-command.ts"
