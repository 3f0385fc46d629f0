import { definePlugin } from "../../../core/plugin.ts"
import type { ParameterSet } from "../../../core/parameters.ts"
import type * as tf from "@tensorflow/tfjs"
import type { Port, PortsToMap } from "../../../core/ports.ts"
import { mlpHeadForward } from "./mlp-head.ts"

export { initMlpHead, mlpHeadForward, type MlpHeadShape } from "./mlp-head.ts"

/** A BYOL MLP head wired from one [batch, features] port to another. */
export const mlpHead = <const In extends string, const Out extends string>(spec: {
  readonly name: string
  readonly parameters: ParameterSet
  readonly input: Port<In, 2>
  readonly output: Port<Out, 2>
}) =>
  definePlugin({
    name: spec.name,
    needs: [spec.input],
    gives: [spec.output],
    parameters: [spec.parameters],
    run: (inputs) => {
      const input = (inputs as Record<string, tf.Tensor2D>)[spec.input.name] as tf.Tensor2D
      return { [spec.output.name]: mlpHeadForward(spec.parameters, input) } as PortsToMap<readonly [Port<Out, 2>]>
    }
  })
export { initVaRegressionHead, vaRegressionHead, vaRegressionLoss } from "./va-regression.ts"
