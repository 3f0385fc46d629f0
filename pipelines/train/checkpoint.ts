/**
 * Training checkpoints: everything a run needs to continue exactly where it stopped.
 *
 *   <out>/checkpoints/step-000050/weights.safetensors  every weight set and the AdamW moments
 *   <out>/checkpoints/step-000050/state.json           step, data position, RNG, schedule, config,
 *                                                      the SHA-256 of weights.safetensors and
 *                                                      the SHA-256 of state.json's own content
 *   <out>/checkpoints/latest                           the name of the newest complete checkpoint
 *
 * A checkpoint is written into a temporary folder and renamed into place, then `latest` is
 * replaced atomically, so a crash (kill -9, a full disk) at any moment leaves the previous
 * checkpoint whole and `latest` naming a complete one. Weights holding NaN or ±Inf are never
 * written. Loading verifies both checksums and falls back to the previous checkpoint when one is
 * damaged or partial; temporary folders a killed run left behind are removed by the next save.
 * A checkpoint whose weights then gave a NaN step is set aside as `diverged-step-…` (kept for
 * inspection, never loaded).
 */
import { createHash, randomBytes } from "node:crypto"
import { mkdir, readdir, readFile, rename, rm } from "node:fs/promises"
import { join } from "node:path"
import * as tf from "@tensorflow/tfjs"
import { Effect, Schema } from "effect"
import type { AdamW } from "../../core/adamw.ts"
import { fileSystemProblem, writeFileAtomic } from "../../core/atomic-file.ts"
import type { ParameterSet } from "../../core/parameters.ts"
import { encodeSafetensors, floatValues, parseSafetensors, type FloatTensorData } from "../../core/safetensors.ts"

export const CHECKPOINT_FORMAT = "carl-checkpoint/1"

export class CheckpointError extends Schema.TaggedError<CheckpointError>()("CheckpointError", {
  path: Schema.String,
  problem: Schema.String
}) {
  override get message(): string {
    return `${this.path}: ${this.problem}`
  }
}

/** What state.json holds beside the weights; `extra` is the trainer's own (data position, RNG, ...). */
export interface CheckpointState<Extra> {
  readonly format: typeof CHECKPOINT_FORMAT
  readonly step: number
  readonly weightsSha256: string
  readonly extra: Extra
  /** SHA-256 of this object without this field, as JSON.stringify writes it; absent in older checkpoints. */
  readonly stateSha256?: string
}

export type NamedParameterSets = ReadonlyArray<readonly [string, ParameterSet]>

const stepName = (step: number) => `step-${String(step).padStart(6, "0")}`

const errorCode = (error: unknown) => (error as NodeJS.ErrnoException).code ?? String(error)

const sha256 = (data: Uint8Array | string) => createHash("sha256").update(data).digest("hex")

/** Names of what a save leaves behind only when it is killed: temporary and set-aside folders, `latest.tmp-…`. */
const LEFTOVER = /^(?:\.step-\d{6,}\.(?:tmp|old)-|latest\.tmp-)/

const firstNonFinite = (values: Float32Array): number => {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i] as number)) return i
  return -1
}

const variableNames = (sets: NamedParameterSets): Map<tf.Variable, string> => {
  const names = new Map<tf.Variable, string>()
  for (const [setName, set] of sets) for (const [name, variable] of set.entries()) names.set(variable, `${setName}.${name}`)
  return names
}

const tensorData = (tensor: tf.Tensor): FloatTensorData => ({ shape: tensor.shape, values: tensor.dataSync() as Float32Array })

const checkpointsDir = (out: string) => join(out, "checkpoints")

/**
 * Writes a checkpoint for `step` and keeps the newest `keep` of them. Returns its folder. A
 * failure names the file that could not be written and leaves the previous checkpoint and
 * `latest` as they were.
 */
export const saveCheckpoint = <Extra>(
  out: string,
  step: number,
  sets: NamedParameterSets,
  optimizer: AdamW,
  extra: Extra,
  keep = 2
): Effect.Effect<string, CheckpointError> =>
  Effect.gen(function* () {
    const dir = checkpointsDir(out)
    const final = join(dir, stepName(step))
    const names = variableNames(sets)
    const tensors: Array<readonly [string, FloatTensorData]> = []
    for (const [variable, name] of names) tensors.push([`weights.${name}`, tensorData(variable)])
    const optimizerState = optimizer.exportState(names)
    for (const [name, data] of optimizerState.tensors) tensors.push([`adamw.${name}`, data])
    for (const [name, data] of tensors) {
      const at = firstNonFinite(data.values)
      if (at >= 0) {
        return yield* new CheckpointError({
          path: final,
          problem: `not written: ${name} holds ${data.values[at]} (the run diverged); the previous checkpoint is kept`
        })
      }
    }
    const bytes = yield* encodeSafetensors(tensors, { metadata: { format: CHECKPOINT_FORMAT } }).pipe(
      Effect.mapError((error) => new CheckpointError({ path: dir, problem: error.message }))
    )
    const content: Omit<CheckpointState<Extra & { readonly optimizerSteps: number }>, "stateSha256"> = {
      format: CHECKPOINT_FORMAT,
      step,
      weightsSha256: sha256(bytes),
      extra: { ...extra, optimizerSteps: optimizerState.steps }
    }
    const state: CheckpointState<Extra & { readonly optimizerSteps: number }> = { ...content, stateSha256: sha256(JSON.stringify(content)) }
    const suffix = `${process.pid}-${randomBytes(4).toString("hex")}`
    const temporary = join(dir, `.${stepName(step)}.tmp-${suffix}`)
    const aside = join(dir, `.${stepName(step)}.old-${suffix}`)
    const attempt = (path: string, action: () => Promise<unknown>) =>
      Effect.tryPromise({
        try: action,
        catch: (error) =>
          new CheckpointError({ path, problem: `cannot write the checkpoint: ${fileSystemProblem(error)}; the previous checkpoint is untouched` })
      })
    yield* Effect.gen(function* () {
      yield* attempt(final, () => mkdir(temporary, { recursive: true }))
      yield* attempt(join(final, "weights.safetensors"), () => writeFileAtomic(join(temporary, "weights.safetensors"), bytes))
      yield* attempt(join(final, "state.json"), () => writeFileAtomic(join(temporary, "state.json"), `${JSON.stringify(state, null, 1)}\n`))
      // A checkpoint of this step may exist (a resumed run redoing it): set it aside by rename, so
      // no moment has a half-deleted folder under a checkpoint's name.
      yield* attempt(final, () => rename(final, aside).catch((error: NodeJS.ErrnoException) => (error.code === "ENOENT" ? undefined : Promise.reject(error))))
      yield* attempt(final, () => rename(temporary, final))
      yield* attempt(join(dir, "latest"), () => writeFileAtomic(join(dir, "latest"), `${stepName(step)}\n`))
    }).pipe(
      Effect.onError(() =>
        Effect.promise(async () => {
          await rm(temporary, { recursive: true, force: true })
          // Put a set-aside checkpoint back if the new one did not take its place.
          await rename(aside, final).catch(() => undefined)
        })
      )
    )
    yield* pruneCheckpoints(dir, keep)
    return final
  })

const listCheckpoints = (dir: string): Effect.Effect<ReadonlyArray<string>> =>
  Effect.promise(() => readdir(dir).catch(() => [] as Array<string>)).pipe(
    Effect.map((entries) => entries.filter((entry) => /^step-\d{6,}$/.test(entry)).sort().reverse())
  )

/** Keeps the newest `keep` checkpoints and removes what killed saves left behind. */
const pruneCheckpoints = (dir: string, keep: number): Effect.Effect<void> =>
  Effect.gen(function* () {
    const all = yield* listCheckpoints(dir)
    const leftovers = (yield* Effect.promise(() => readdir(dir).catch(() => [] as Array<string>))).filter((entry) => LEFTOVER.test(entry))
    for (const old of [...all.slice(Math.max(1, keep)), ...leftovers]) {
      yield* Effect.promise(() => rm(join(dir, old), { recursive: true, force: true }))
    }
  })

/**
 * Sets aside the checkpoint of `step` (renamed `diverged-step-…`, kept for inspection, never
 * loaded) and points `latest` at the newest checkpoint before it, or removes `latest` when there
 * is none. For a run whose next step was not finite: that checkpoint holds the very weights that
 * failed, so resuming from it would fail again whatever the learning rate.
 */
export const setAsideCheckpoint = (
  out: string,
  step: number
): Effect.Effect<{ readonly setAside: string; readonly latest: string | undefined }, CheckpointError> =>
  Effect.gen(function* () {
    const dir = checkpointsDir(out)
    const setAside = join(dir, `diverged-${stepName(step)}`)
    const fail = (path: string) => (error: unknown) => new CheckpointError({ path, problem: `cannot set the checkpoint aside: ${fileSystemProblem(error)}` })
    yield* Effect.tryPromise({
      try: async () => {
        await rm(setAside, { recursive: true, force: true })
        await rename(join(dir, stepName(step)), setAside)
      },
      catch: fail(join(dir, stepName(step)))
    })
    const previous = (yield* listCheckpoints(dir)).find((name) => Number(name.slice("step-".length)) < step)
    yield* Effect.tryPromise({
      try: () => (previous === undefined ? rm(join(dir, "latest"), { force: true }) : writeFileAtomic(join(dir, "latest"), `${previous}\n`)),
      catch: fail(join(dir, "latest"))
    })
    return { setAside, latest: previous === undefined ? undefined : join(dir, previous) }
  })

export interface LoadedCheckpoint<Extra> {
  readonly path: string
  readonly state: CheckpointState<Extra & { readonly optimizerSteps: number }>
  /** Every tensor of weights.safetensors by name ("weights.<set>.<name>", "adamw.<set>.<name>.exp_avg"). */
  readonly tensors: ReadonlyMap<string, FloatTensorData>
  /** Newer checkpoints that were damaged and skipped, with why. */
  readonly skipped: ReadonlyArray<string>
}

const readOne = <Extra>(path: string): Effect.Effect<LoadedCheckpoint<Extra>, CheckpointError> =>
  Effect.gen(function* () {
    const fail = (problem: string) => new CheckpointError({ path, problem })
    const stateText = yield* Effect.tryPromise({
      try: () => readFile(join(path, "state.json"), "utf8"),
      catch: (error) => fail(`state.json cannot be read (${errorCode(error)})`)
    })
    const state = yield* Effect.try({
      try: () => JSON.parse(stateText) as CheckpointState<Extra & { readonly optimizerSteps: number }>,
      catch: () => fail("state.json is not valid JSON (a partial write?)")
    })
    if (state === null || typeof state !== "object") return yield* fail("state.json is not a JSON object")
    if (state.format !== CHECKPOINT_FORMAT) return yield* fail(`state.json has format ${String(state.format)}, expected ${CHECKPOINT_FORMAT}`)
    if (state.stateSha256 !== undefined) {
      const { stateSha256, ...content } = state
      if (sha256(JSON.stringify(content)) !== stateSha256) return yield* fail("state.json does not match its checksum (damaged)")
    }
    const named = Number(/step-(\d+)$/.exec(path)?.[1] ?? Number.NaN)
    if (state.step !== named) return yield* fail(`state.json says step ${String(state.step)}, the folder step ${named}`)
    const bytes = yield* Effect.tryPromise({
      try: () => readFile(join(path, "weights.safetensors")),
      catch: (error) => fail(`weights.safetensors cannot be read (${errorCode(error)})`)
    })
    if (sha256(bytes) !== state.weightsSha256) return yield* fail("weights.safetensors does not match its checksum (damaged or partial)")
    const file = yield* parseSafetensors(bytes, join(path, "weights.safetensors")).pipe(Effect.mapError((error) => fail(error.message)))
    const tensors = new Map<string, FloatTensorData>()
    for (const [name, entry] of file.tensors) {
      const values = yield* floatValues(entry, file.file).pipe(Effect.mapError((error) => fail(error.message)))
      tensors.set(name, { shape: entry.shape, values })
    }
    return { path, state, tensors, skipped: [] }
  })

/** The newest checkpoint that verifies, trying `latest` first, then every step folder newest first. */
export const loadLatestCheckpoint = <Extra>(out: string): Effect.Effect<LoadedCheckpoint<Extra>, CheckpointError> =>
  Effect.gen(function* () {
    const dir = checkpointsDir(out)
    const pointed = yield* Effect.promise(() =>
      readFile(join(dir, "latest"), "utf8").then(
        (text) => text.trim(),
        () => ""
      )
    )
    const candidates = [...new Set([pointed, ...(yield* listCheckpoints(dir))].filter((name) => /^step-\d{6,}$/.test(name)))]
    const skipped: Array<string> = []
    for (const candidate of candidates) {
      const loaded = yield* Effect.result(readOne<Extra>(join(dir, candidate)))
      if (loaded._tag === "Success") return { ...loaded.success, skipped }
      skipped.push(loaded.failure.message)
    }
    return yield* new CheckpointError({
      path: dir,
      problem: candidates.length === 0 ? "no checkpoint to resume from" : `no usable checkpoint (${skipped.join("; ")})`
    })
  })

/** Puts a checkpoint's weights and AdamW moments back into the run's variables. */
export const restoreCheckpoint = <Extra>(
  loaded: LoadedCheckpoint<Extra>,
  sets: NamedParameterSets,
  optimizer: AdamW
): Effect.Effect<void, CheckpointError> =>
  Effect.gen(function* () {
    const names = variableNames(sets)
    for (const [variable, name] of names) {
      const saved = loaded.tensors.get(`weights.${name}`)
      if (saved === undefined) return yield* new CheckpointError({ path: loaded.path, problem: `no weights for ${name}` })
      if (saved.shape.join(",") !== variable.shape.join(",")) {
        return yield* new CheckpointError({
          path: loaded.path,
          problem: `${name} has shape [${saved.shape.join(", ")}], the model has [${variable.shape.join(", ")}]`
        })
      }
      tf.tidy(() => variable.assign(tf.tensor(saved.values, [...saved.shape])))
    }
    const moments = new Map<string, FloatTensorData>()
    for (const [name, data] of loaded.tensors) if (name.startsWith("adamw.")) moments.set(name.slice("adamw.".length), data)
    optimizer.importState({ steps: loaded.state.extra.optimizerSteps, tensors: moments }, names)
  })
