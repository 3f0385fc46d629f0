import { definePlugin } from "../../../core/plugin.ts"
import type { ParameterSet } from "../../../core/parameters.ts"
import { DEFAULT_INITIAL_MOMENTUM, momentumAt, updateMovingAverage } from "./momentum-schedule.ts"

export { DEFAULT_INITIAL_MOMENTUM, momentumAt, updateMovingAverage } from "./momentum-schedule.ts"

export interface MomentumPair {
  readonly online: ParameterSet
  readonly target: ParameterSet
}

/**
 * The momentum updater (Eqs. 1–2): after each optimiser step k, every target weight set moves
 * toward its online twin with momentum m(k). It reads and gives no ports.
 */
export const momentumUpdater = (pairs: ReadonlyArray<MomentumPair>, initial = DEFAULT_INITIAL_MOMENTUM) =>
  definePlugin({
    name: "momentum-updater",
    needs: [],
    gives: [],
    run: () => ({}),
    afterStep: ({ step, totalSteps }) => {
      const momentum = momentumAt(step, totalSteps, initial)
      for (const { online, target } of pairs) updateMovingAverage(target, online, momentum)
    }
  })
