/**
 * A plugin is one node of a carl graph: the ports it needs, the ports it gives, the weights it
 * owns, and a synchronous `run` that is plain tensor math (Effect stays outside, tfjs inside).
 */
import type * as tf from "@tensorflow/tfjs"
import type { ParameterSet } from "./parameters.ts"
import type { AnyPort, LossPortName, PortMap, PortsToMap } from "./ports.ts"

export interface RunContext {
  /** True inside a training step, false for forward-only runs (embedding, evaluation). */
  readonly training: boolean
  /** Optimiser steps already taken. */
  readonly step: number
  readonly totalSteps: number
  /** The rows of the batch this run of the plugin sees: all of them, or a micro-batch's. */
  readonly rows: { readonly start: number; readonly count: number } | undefined
  /**
   * ∂loss/∂wrt with the port `wrt` set to `at`, every other value of this pass reused: PGD's
   * gradient at e + δ for its steps after the first. Micro-batched like the pass itself.
   */
  gradient(loss: string, wrt: string, at: tf.Tensor): tf.Tensor
  /** A diagnostic that is printed once per run, however many steps repeat it. */
  warnOnce(key: string, message: string): void
}

export interface AfterStepContext {
  /** Optimiser steps taken, this one included (k in Eq. 2). */
  readonly step: number
  readonly totalSteps: number
}

export interface Plugin<Needs extends PortMap = PortMap, Gives extends PortMap = PortMap> {
  readonly name: string
  readonly needs: ReadonlyArray<AnyPort>
  readonly gives: ReadonlyArray<AnyPort>
  /** Weight sets the plugin reads; trainable ones receive gradients from every loss they reach. */
  readonly parameters: ReadonlyArray<ParameterSet>
  /** Set only by the objective plugin: the λ of each loss port (Eq. 11). */
  readonly lossWeights?: ReadonlyMap<LossPortName, number>
  /**
   * Row b of every output depends only on row b of its batch-major inputs (and on scalars and
   * weights): the executor may run it on a few rows at a time (GradCache micro-batches,
   * core/executor.ts). Leave it unset for anything that mixes rows (BatchNorm, a loss over the
   * batch); such plugins always see the whole batch.
   */
  readonly rowWise?: boolean
  run(inputs: Needs, context: RunContext): Gives
  /** Runs after the optimiser has updated the weights (the momentum updater lives here). */
  afterStep?(context: AfterStepContext): void
}

/** A plugin seen by the executor, which only knows its port records at run time. */
export type AnyPlugin = Plugin<PortMap, PortMap>

export interface PluginSpec<Needs extends ReadonlyArray<AnyPort>, Gives extends ReadonlyArray<AnyPort>> {
  readonly name: string
  readonly needs: Needs
  readonly gives: Gives
  readonly parameters?: ReadonlyArray<ParameterSet>
  readonly lossWeights?: ReadonlyMap<LossPortName, number>
  readonly rowWise?: boolean
  readonly run: (inputs: PortsToMap<Needs>, context: RunContext) => PortsToMap<Gives>
  readonly afterStep?: (context: AfterStepContext) => void
}

export const definePlugin = <const Needs extends ReadonlyArray<AnyPort>, const Gives extends ReadonlyArray<AnyPort>>(
  spec: PluginSpec<Needs, Gives>
): Plugin<PortsToMap<Needs>, PortsToMap<Gives>> => ({
  name: spec.name,
  needs: spec.needs,
  gives: spec.gives,
  parameters: spec.parameters ?? [],
  ...(spec.lossWeights === undefined ? {} : { lossWeights: spec.lossWeights }),
  ...(spec.rowWise === true ? { rowWise: true } : {}),
  run: spec.run,
  ...(spec.afterStep === undefined ? {} : { afterStep: spec.afterStep })
})

type RenameMap = { readonly [from: string]: AnyPort }

export type RenamedPorts<M, R extends RenameMap> = {
  [K in keyof M as K extends keyof R ? R[K]["name"] : K]: M[K]
}

/**
 * The same plugin wired to other ports, sharing its weights: the encoder run on the perturbed
 * embeddings is `withPorts(encode, { tokenEmbeddings: Ports.perturbedEmbeddings, ... })`.
 */
export const withPorts = <Needs extends PortMap, Gives extends PortMap, const R extends RenameMap>(
  plugin: Plugin<Needs, Gives>,
  renames: R,
  name = `${plugin.name}[${Object.values(renames)
    .map((port) => port.name)
    .join(",")}]`
): Plugin<RenamedPorts<Needs, R>, RenamedPorts<Gives, R>> => {
  const known = new Set([...plugin.needs, ...plugin.gives].map((port) => port.name))
  for (const [from, to] of Object.entries(renames)) {
    const original = [...plugin.needs, ...plugin.gives].find((port) => port.name === from)
    if (original === undefined || !known.has(from)) {
      throw new Error(`withPorts(${plugin.name}): the plugin has no port named ${from}`)
    }
    if (original.rank !== to.rank || original.dtype !== to.dtype) {
      throw new Error(
        `withPorts(${plugin.name}): port ${from} is ${original.dtype} rank ${original.rank}, ${to.name} is ${to.dtype} rank ${to.rank}`
      )
    }
  }
  const rename = (port: AnyPort): AnyPort => renames[port.name] ?? port
  const originalName = new Map(Object.entries(renames).map(([from, to]) => [to.name, from]))
  return {
    name,
    needs: plugin.needs.map(rename),
    gives: plugin.gives.map(rename),
    parameters: plugin.parameters,
    ...(plugin.rowWise === true ? { rowWise: true } : {}),
    run: (inputs: Record<string, tf.Tensor>, context: RunContext) => {
      const original: Record<string, tf.Tensor> = {}
      for (const [key, value] of Object.entries(inputs)) original[originalName.get(key) ?? key] = value
      const outputs: Record<string, tf.Tensor> = plugin.run(original as Needs, context)
      const renamed: Record<string, tf.Tensor> = {}
      for (const [key, value] of Object.entries(outputs)) renamed[renames[key]?.name ?? key] = value
      return renamed as RenamedPorts<Gives, R>
    }
  } as Plugin<RenamedPorts<Needs, R>, RenamedPorts<Gives, R>>
}
