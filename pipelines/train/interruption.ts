/**
 * SIGINT and SIGTERM as an Effect interruption: while a run's steps go on, a signal interrupts
 * them between two steps (a step is never cut short: each runs uninterruptibly), the interrupted
 * loop's finaliser writes a checkpoint at the next batch to train on, and the run ends with
 * `Interrupted`, which names the signal, the step and the checkpoint (exit 130 or 143).
 */
import { Effect, Option, Ref, Schema } from "effect"

export class Interrupted extends Schema.TaggedError<Interrupted>()("Interrupted", {
  signal: Schema.String,
  step: Schema.Number,
  checkpoint: Schema.String
}) {
  override get message(): string {
    return `${this.signal}: stopped after step ${this.step}; checkpoint ${this.checkpoint} (continue with --resume)`
  }
}

/** The first SIGINT or SIGTERM while it waits; its listeners go with it. */
export const nextSignal = Effect.callback<string>((resume) => {
  const onSignal = (signal: NodeJS.Signals) => resume(Effect.succeed(signal))
  process.once("SIGINT", onSignal)
  process.once("SIGTERM", onSignal)
  return Effect.sync(() => {
    process.off("SIGINT", onSignal)
    process.off("SIGTERM", onSignal)
  })
})

/**
 * Runs `steps` until they end or a signal comes. On a signal they are interrupted (between steps),
 * `checkpoint` runs as their finaliser and gives where it wrote and after which step, and the
 * result is an Interrupted failure.
 */
export const stopOnSignal = <E, R, E2, R2>(
  steps: Effect.Effect<void, E, R>,
  checkpoint: Effect.Effect<{ readonly path: string; readonly step: number }, E2, R2>
): Effect.Effect<void, E | E2 | Interrupted, R | R2> =>
  Effect.gen(function* () {
    const written = yield* Ref.make(Option.none<{ readonly path: string; readonly step: number }>())
    const saveOnInterrupt = steps.pipe(
      Effect.onInterrupt(() =>
        checkpoint.pipe(
          Effect.flatMap((saved) => Ref.set(written, Option.some(saved))),
          Effect.orDie
        )
      )
    )
    const signal = yield* Effect.raceFirst(saveOnInterrupt.pipe(Effect.as(Option.none<string>())), nextSignal.pipe(Effect.map(Option.some)))
    if (Option.isNone(signal)) return
    const saved = yield* Ref.get(written)
    if (Option.isNone(saved)) return
    return yield* new Interrupted({ signal: signal.value, step: saved.value.step, checkpoint: saved.value.path })
  })
