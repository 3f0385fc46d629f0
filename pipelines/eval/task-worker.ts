/**
 * A task thread (see eval-command.ts): it reads the corpora a task needs (once per thread),
 * builds the same plan the command would, and runs its evaluator on the embeddings it is sent.
 * The tasks share nothing but those embeddings, so several threads evaluate at once with the
 * results they would give one after another.
 */
import { workerData } from "node:worker_threads"
import { Effect } from "effect"
import { selectBackend } from "../../plugins/backends/index.ts"
import type { DataSpec } from "../../plugins/data/va-spec.ts"
import type { EmbedOptions } from "../embed.ts"
import { readEvalCorpora, TASK_DATASET, type EvalCorpora, type EvalDataset, type EvalTask } from "./eval-data.ts"
import { planTasks, runTaskPlan, type TaskRun, type TaskSettings } from "./eval-tasks.ts"
import { serveRequests } from "./worker-thread.ts"

export interface TaskWorkerSetup extends TaskSettings {
  readonly dataDir: string
  readonly vaData?: ReadonlyArray<DataSpec> | undefined
  readonly skipBadRows?: boolean | undefined
}

export interface TaskRequest {
  readonly task: EvalTask
  readonly embed: EmbedOptions
  /** Each list's vectors, row-major, under its textsKey. */
  readonly lists: ReadonlyArray<{ readonly key: string; readonly dims: number; readonly vectors: Float32Array }>
}

await serveRequests<TaskRequest, TaskRun>(async () => {
  const setup = workerData as TaskWorkerSetup
  // The evaluators only look embeddings up and do float64 arithmetic in JavaScript: any backend serves.
  await Effect.runPromise(selectBackend("cpu"))
  const corpora: { -readonly [K in keyof EvalCorpora]: EvalCorpora[K] } = {}
  const read = new Set<EvalDataset>()
  return async (request) => {
    const dataset = TASK_DATASET[request.task]
    if (!read.has(dataset)) {
      const loaded = await Effect.runPromise(readEvalCorpora(setup.dataDir, [dataset], setup))
      Object.assign(corpora, loaded.corpora)
      read.add(dataset)
    }
    const [plan] = planTasks([request.task], corpora, setup)
    if (plan === undefined) throw new Error(`no plan for task ${request.task}`)
    const vectors = new Map(
      request.lists.map(({ key, dims, vectors: flat }) => [key, Array.from({ length: flat.length / dims }, (_, i) => flat.subarray(i * dims, (i + 1) * dims))] as const)
    )
    return { reply: runTaskPlan(plan, vectors, request.embed) }
  }
})
