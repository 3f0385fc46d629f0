/** `carl bench`: CARL steps and embedding throughput, measured beside the PyTorch peer. */
export { benchCommand } from "./command.ts"
export { BENCH_SENTENCE_COUNT, benchEmbed, benchSentences, type BenchEmbedResult, type EmbedSide } from "./embed.ts"
export { BenchOptionError, checkBenchOptions, DEFAULT_BENCH_OPTIONS, type BenchOptions } from "./options.ts"
export { BenchPeerError, PEER_PYTHON, PEER_SCRIPT, peerArgs, peerEnvironment, runPeer, type PeerResult } from "./peer.ts"
export { matmulFlops, profileStep, type KernelTotal, type StepProfile } from "./profile.ts"
export {
  benchBatch,
  benchBertConfig,
  benchSteps,
  benchStepsWith,
  createBenchRun,
  raggedLength,
  runBenchStep,
  type BenchRun,
  type BenchStepsResult
} from "./steps.ts"
export { threadsReport, type ThreadsReport } from "./threads.ts"
