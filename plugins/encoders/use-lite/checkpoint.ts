/**
 * A fine-tuned USE-lite on disk: config.json (model_type "use-lite") and model.safetensors with
 * the weights under carl's names (weights.ts). The tokenizer is the package's, which training
 * does not change, so it is not copied.
 */
import { mkdir, readFile } from "node:fs/promises"
import { join } from "node:path"
import * as tf from "@tensorflow/tfjs"
import { Effect, Schema } from "effect"
import { writeFileAtomic } from "../../../core/atomic-file.ts"
import { ParameterSet } from "../../../core/parameters.ts"
import { floatValues, readSafetensors, writeSafetensors } from "../../../core/safetensors.ts"
import { USE_LITE_PACKAGE } from "./artifacts.ts"
import { USE_LITE_WEIGHTS } from "./weights.ts"

export const USE_LITE_MODEL_TYPE = "use-lite"

export class UseLiteCheckpointError extends Schema.TaggedError<UseLiteCheckpointError>()("UseLiteCheckpointError", {
  file: Schema.String,
  problem: Schema.String
}) {
  override get message(): string {
    return `${this.file}: ${this.problem}`
  }
}

export const saveUseLiteDirectory = (parameters: ParameterSet, dir: string): Effect.Effect<void, UseLiteCheckpointError> =>
  Effect.gen(function* () {
    const tensors = parameters.entries().map(([name, variable]) => [name, { shape: variable.shape, values: variable.dataSync() as Float32Array }] as const)
    yield* Effect.tryPromise({
      try: () => mkdir(dir, { recursive: true }),
      catch: (error) => new UseLiteCheckpointError({ file: dir, problem: `cannot create the folder (${String(error)})` })
    })
    yield* writeSafetensors(join(dir, "model.safetensors"), tensors, { metadata: { format: "carl-use-lite" } }).pipe(
      Effect.mapError((error) => new UseLiteCheckpointError({ file: error.file, problem: error.problem }))
    )
    const config = { model_type: USE_LITE_MODEL_TYPE, hidden_size: 512, base_weights: `${USE_LITE_PACKAGE}@0.2.0` }
    yield* Effect.tryPromise({
      try: () => writeFileAtomic(join(dir, "config.json"), `${JSON.stringify(config, null, 2)}\n`),
      catch: (error) => new UseLiteCheckpointError({ file: join(dir, "config.json"), problem: `cannot write (${String(error)})` })
    })
  })

/** True when `dir/config.json` says use-lite; false for anything else (a BERT folder, no file). */
export const isUseLiteDirectory = (dir: string): Effect.Effect<boolean> =>
  Effect.promise(() =>
    readFile(join(dir, "config.json"), "utf8").then(
      (text) => {
        try {
          return (JSON.parse(text) as { model_type?: unknown }).model_type === USE_LITE_MODEL_TYPE
        } catch {
          return false
        }
      },
      () => false
    )
  )

export const loadUseLiteWeights = (dir: string, options: { readonly trainable: boolean }): Effect.Effect<ParameterSet, UseLiteCheckpointError> =>
  Effect.gen(function* () {
    const file = join(dir, "model.safetensors")
    const loaded = yield* readSafetensors(file).pipe(Effect.mapError((error) => new UseLiteCheckpointError({ file: error.file, problem: error.problem })))
    const tensors: Array<readonly [string, tf.Tensor]> = []
    for (const weight of USE_LITE_WEIGHTS) {
      const entry = loaded.tensors.get(weight.name)
      if (entry === undefined) return yield* new UseLiteCheckpointError({ file, problem: `tensor ${weight.name} is missing` })
      if (entry.shape.join(",") !== weight.shape.join(",")) {
        return yield* new UseLiteCheckpointError({
          file,
          problem: `tensor ${weight.name} has shape [${entry.shape.join(", ")}], USE-lite's is [${weight.shape.join(", ")}]`
        })
      }
      const values = yield* floatValues(entry, file).pipe(Effect.mapError((error) => new UseLiteCheckpointError({ file, problem: error.problem })))
      tensors.push([weight.name, tf.tensor(values, [...entry.shape])])
    }
    const parameters = ParameterSet.fromTensors(tensors, options)
    tf.dispose(tensors.map(([, tensor]) => tensor))
    return parameters
  })
