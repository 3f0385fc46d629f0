import { Context, Layer } from "effect"
import { SeededRandom } from "./random.ts"

/** The run's seeded random generator; plugins fork named streams from it. */
export class Rng extends Context.Service<Rng, SeededRandom>()("carl/core/Rng") {
  static layer(seed: number): Layer.Layer<Rng> {
    return Layer.sync(Rng, () => new SeededRandom(seed))
  }
}
