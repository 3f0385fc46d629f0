/**
 * Where a model's heads live: beside its weights. `use-lite` has its heads in this repository
 * (models/use-lite, fitted on EmoBank and GoEmotions, licences beside them); a model folder has
 * them in the folder (carl train writes final/va-head.*); a run folder means its best/ model
 * when it kept one, else final/; a hub id, the downloaded folder. `--head` names another folder.
 */
import { stat } from "node:fs/promises"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"
import { resolveModel, type HubOptions } from "../../plugins/encoders/hub/index.ts"
import { USE_LITE_MODEL_ID } from "../../plugins/encoders/load-text-encoder.ts"

/** The heads shipped for base USE-lite. */
export const USE_LITE_HEADS = fileURLToPath(new URL("../../models/use-lite", import.meta.url))

const isFile = (path: string) => Effect.promise(() => stat(path).then((info) => info.isFile(), () => false))

export interface ModelWithHeads {
  /** What to load with loadTextEncoder. */
  readonly model: string
  /** The folder the heads are read from. */
  readonly headDir: string
  /** Set when `model` is not what the user named (a run folder's best/ or final/). */
  readonly note?: string
}

/** A run folder (run.json in it) as its best model, else its final one; anything else as itself. */
export const modelWithHeads = Effect.fn("modelWithHeads")(function* (model: string, options: { readonly headDir?: string | undefined; readonly hub?: HubOptions }) {
  if (model === USE_LITE_MODEL_ID) return { model, headDir: options.headDir ?? USE_LITE_HEADS } satisfies ModelWithHeads
  if (yield* isFile(join(model, "run.json"))) {
    const best = join(model, "best")
    const chosen = (yield* isFile(join(best, "config.json"))) ? best : join(model, "final")
    return { model: chosen, headDir: options.headDir ?? chosen, note: `${model} is a training run: using its ${chosen === best ? "best (dev-selected)" : "final"} model, ${chosen}` } satisfies ModelWithHeads
  }
  if (options.headDir !== undefined) return { model, headDir: options.headDir } satisfies ModelWithHeads
  return { model, headDir: yield* resolveModel(model, options.hub ?? {}) } satisfies ModelWithHeads
})
