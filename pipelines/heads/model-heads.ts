/**
 * Where a model's heads live: beside its weights. `use-lite` has its heads in this repository
 * (models/use-lite, fitted on EmoBank and GoEmotions, licences beside them); a model folder has
 * them in the folder (carl train writes final/va-head.*); a run folder means its best/ model
 * when it kept one, else final/; a hub id, the downloaded folder. `--head` names another folder.
 * Reading them checks they fit each other and the model.
 */
import { stat } from "node:fs/promises"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"
import { resolveModel, type HubOptions } from "../../plugins/encoders/hub/index.ts"
import { USE_LITE_MODEL_ID } from "../../plugins/encoders/load-text-encoder.ts"
import { HeadMismatch, readEkmanHead, readVaHead, type EkmanHeadCard, type LoadedHead, type VaHeadCard } from "../../plugins/readouts/index.ts"

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

/**
 * A model's VA head and, as `emotion` asks, its Ekman head ("optional": when there is one), both
 * fitted on the same embeddings: the one embedding of a text feeds both.
 */
export const readModelHeads = Effect.fn("readModelHeads")(function* (headDir: string, model: string, emotion: "required" | "optional" | "none") {
  const va = yield* readVaHead(headDir, `fit one with: carl fit-head --model ${model} --data <a VA corpus>`)
  const ekman =
    emotion === "none"
      ? undefined
      : yield* readEkmanHead(headDir, `fit one with: carl fit-head --model ${model} --goemotions <GoEmotions folder>`).pipe(
          Effect.map((head): LoadedHead<EkmanHeadCard> | undefined => head),
          Effect.catchTag("HeadMissing", (missing) => (emotion === "optional" ? Effect.succeed(undefined) : Effect.fail(missing)))
        )
  const [a, b] = [va.card.encoder, ekman?.card.encoder]
  if (b !== undefined && (b.pooling !== a.pooling || b.maxLength !== a.maxLength || b.dims !== a.dims)) {
    return yield* new HeadMismatch({
      problem: `${headDir}: the VA head and the Ekman head were fitted on different embeddings (${a.dims} dims, ${a.pooling} pooling, ${a.maxLength} tokens against ${b.dims}, ${b.pooling}, ${b.maxLength}); fit them again with the same settings`
    })
  }
  return { va, ekman }
})

/** Fails unless `loaded` (what `model` resolved to) gives vectors of the width the VA head was fitted on. */
export const checkHeadWidth = (headDir: string, va: LoadedHead<VaHeadCard>, model: string, loaded: string, width: number | undefined) =>
  width === undefined || width === va.card.encoder.dims
    ? Effect.void
    : Effect.fail(
        new HeadMismatch({
          problem: `${headDir}/va-head.json was fitted on ${va.card.encoder.dims}-dimensional embeddings of ${va.card.encoder.model}, but ${loaded} gives ${width}: fit a head for this model (carl fit-head --model ${model} --data <a VA corpus>)`
        })
      )
