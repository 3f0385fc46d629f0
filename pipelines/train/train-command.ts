/**
 * `carl train`: data, configuration and flags into a training run, and its before/after report.
 * With no arguments (cli/train.ts) it is the demo: the recipe on the bundled EmoBank.
 */
import { join } from "node:path"
import { Console, Effect } from "effect"
import type { CarlConfig } from "../../plugins/carl/config.ts"
import type { EvaluationResult } from "../../plugins/evaluators/evaluator.ts"
import type { CarlVariant } from "../carl-graph.ts"
import { loadTrainingData, type DataSpec } from "./load-training-data.ts"
import { selectionEvaluators, type SelectionTask } from "./evaluation.ts"
import { train, type TrainOptions } from "./train.ts"

/** The trainer's options, with data files to read instead of data in memory. */
export interface TrainCommandOptions extends Omit<TrainOptions, "data" | "variant" | "evalTrainLimit" | "selection"> {
  readonly data: ReadonlyArray<DataSpec>
  readonly variant: CarlVariant
  readonly skipBadRows: boolean
  /** --select-on (default va) and, for its transfer tasks, --data-dir. */
  readonly selectOn?: ReadonlyArray<SelectionTask>
  readonly dataDir?: string | undefined
}

// The ridge probe of the evaluations is fitted on at most 2,000 train sentences: enough for a
// stable correlation, and it keeps an evaluation of EmoBank to a few minutes on 2 cores.
const EVAL_TRAIN_LIMIT = 2000

const row = (label: string, before: EvaluationResult | undefined, after: EvaluationResult | undefined, metric: string) => {
  const value = (result: EvaluationResult | undefined) => result?.metrics[metric]?.toFixed(4) ?? "  -   "
  return `${label.padEnd(22)} ${value(before).padStart(8)} ${value(after).padStart(8)}`
}

export const trainCommand = Effect.fn("trainCommand")(function* (config: CarlConfig, options: TrainCommandOptions) {
  const data = yield* loadTrainingData(options.data, { seed: config.seed, skipBadRows: options.skipBadRows })
  for (const source of data.sources) {
    const skipped = Object.entries(source.skipped)
    yield* Console.log(
      `data: ${source.file} (${source.format}, scale ${source.scale.min}–${source.scale.max}): ${source.examples} examples` +
        (skipped.length === 0 ? "" : `; skipped ${skipped.map(([reason, count]) => `${count} ${reason}`).join(", ")}`)
    )
  }
  yield* Console.log(`splits: train ${data.train.length}, dev ${data.dev.length}, test ${data.test.length}; variant ${options.variant}; out ${options.out}`)
  const selection = yield* selectionEvaluators(options.selectOn ?? ["va"], data, { trainLimit: EVAL_TRAIN_LIMIT, dataDir: options.dataDir, seed: config.seed })
  const summary = yield* train(config, { ...options, data, evalTrainLimit: EVAL_TRAIN_LIMIT, selection })
  if (summary.before !== undefined || summary.after !== undefined) {
    yield* Console.log(
      [
        "",
        `held-out test split, ridge regression on frozen embeddings (${config.model.pooling} pooling):`,
        `${"".padEnd(22)} ${"before".padStart(8)} ${"after".padStart(8)}`,
        row("valence Pearson r", summary.before, summary.after, "valence.pearson"),
        row("valence Spearman ρ", summary.before, summary.after, "valence.spearman"),
        row("valence MAE", summary.before, summary.after, "valence.mae"),
        row("arousal Pearson r", summary.before, summary.after, "arousal.pearson"),
        row("arousal Spearman ρ", summary.before, summary.after, "arousal.spearman"),
        row("arousal MAE", summary.before, summary.after, "arousal.mae"),
        ""
      ].join("\n")
    )
  }
  yield* Console.log(`final model: ${summary.finalModel}  (carl embed --model ${summary.finalModel} --input ...)`)
  yield* Console.log(`peak memory: ${Math.round(summary.peakRssMb)} MB resident`)
  if (summary.best !== undefined) yield* Console.log(`best dev checkpoint: step ${summary.best.step} → ${join(options.out, "best")}`)
  for (const head of summary.heads) {
    const test = head.card.test
    const r = (value: number | null | undefined) => (value === null || value === undefined ? "undefined" : value.toFixed(4))
    yield* Console.log(
      `VA head: ${join(head.dir, "va-head.json")} (ridge on all ${head.card.corpus.train} train sentences` +
        (test === null ? ")" : `; test valence r ${r(test.valence.pearson)}, arousal r ${r(test.arousal.pearson)})`)
    )
  }
  if (summary.heads.length > 0) yield* Console.log(`predict with: carl predict --model ${options.out} --input <text file or ->`)
  return summary
})
