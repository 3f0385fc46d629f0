/**
 * A command's Effect program run in-process as bin/carl.ts runs it: with the backend (cpu, the
 * tests' choice) and the seeded RNG provided, scoped. Apart from run-cli.ts so that tests of the
 * configuration alone do not load tfjs.
 */
import { Effect, Layer, type Scope } from "effect"
import { Backend } from "../../plugins/backends/index.ts"
import type { BackendUnavailable } from "../../core/errors.ts"
import { Rng } from "../../core/rng.ts"

export const asCommand = <A, E>(program: Effect.Effect<A, E, Backend | Rng | Scope.Scope>, seed = 42): Effect.Effect<A, E | BackendUnavailable> =>
  Effect.scoped(program).pipe(Effect.provide(Layer.mergeAll(Backend.layer("cpu"), Rng.layer(seed))))
