/**
 * The typed dataflow graph: a list of plugins whose needs are given by the graph's inputs or by
 * plugins added before them.
 *
 * Wiring is checked twice. `GraphBuilder.add` rejects, at compile time, a plugin whose needs are
 * not given upstream, whose port types disagree, or that gives a port twice. `assembleGraph`
 * checks the same rules at run time for graphs built from configuration, and names the port and
 * the plugin when one fails.
 */
import type * as tf from "@tensorflow/tfjs"
import { Result } from "effect"
import { GraphWiringError } from "./errors.ts"
import type { ParameterSet } from "./parameters.ts"
import type { AnyPlugin, Plugin } from "./plugin.ts"
import {
  describePort,
  isLossPortName,
  type AnyPort,
  type LossPortName,
  type PortMap,
  type PortsToMap
} from "./ports.ts"

// ---------------------------------------------------------------- compile-time wiring checks

type GradientNeedMet<Available, K> = K extends `∂${infer L}/∂${infer X}`
  ? L extends keyof Available
    ? X extends keyof Available
      ? true
      : false
    : false
  : false

type MissingNeeds<Available, Needs> = {
  [K in keyof Needs]-?: K extends keyof Available ? never : GradientNeedMet<Available, K> extends true ? never : K
}[keyof Needs]

type MistypedNeeds<Available, Needs> = {
  [K in keyof Needs & keyof Available]-?: Available[K] extends Needs[K] ? never : K
}[keyof Needs & keyof Available]

type GivenTwice<Available, Gives> = Extract<keyof Gives, keyof Available>

/** An object type whose property names are the complaint, which is what the compiler prints. */
type Complaint<Text extends string> = { readonly [K in Text]: true }

/**
 * `unknown` when the plugin fits; otherwise a `Complaint` that names the problem and the port,
 * e.g. "port is needed but not given upstream: onlinePrediction".
 */
export type WiringCheck<Available, Needs, Gives> = [MissingNeeds<Available, Needs>] extends [never]
  ? [MistypedNeeds<Available, Needs>] extends [never]
    ? [GivenTwice<Available, Gives>] extends [never]
      ? unknown
      : Complaint<`port is already given upstream: ${GivenTwice<Available, Gives> & string}`>
    : Complaint<`port has a different tensor type upstream: ${MistypedNeeds<Available, Needs> & string}`>
  : Complaint<`port is needed but not given upstream: ${MissingNeeds<Available, Needs> & string}`>

// ---------------------------------------------------------------- the graph

export type PortSource = { readonly kind: "input" } | { readonly kind: "plugin"; readonly index: number }

export class Graph<Ports extends PortMap = PortMap> {
  /** Phantom: the record of every port the graph gives, for typed reads of its outputs. */
  declare readonly ports: Ports

  constructor(
    readonly inputs: ReadonlyArray<AnyPort>,
    readonly plugins: ReadonlyArray<AnyPlugin>,
    readonly portSpecs: ReadonlyMap<string, AnyPort>,
    readonly sources: ReadonlyMap<string, PortSource>
  ) {}

  /** The plugin whose λ weights the losses (Eq. 11), if the graph has one. */
  get objective(): AnyPlugin | undefined {
    return this.plugins.find((plugin) => plugin.lossWeights !== undefined)
  }

  /** λ of each loss port; losses without an objective are weighted 1. */
  lossWeight(port: LossPortName): number {
    const objective = this.objective
    return objective?.lossWeights?.get(port) ?? (objective === undefined ? 1 : 0)
  }

  lossPorts(): ReadonlyArray<LossPortName> {
    return [...this.portSpecs.keys()].filter(isLossPortName)
  }

  /** Every distinct weight set, each once, even when a plugin is wired in twice. */
  parameterSets(): ReadonlyArray<ParameterSet> {
    return [...new Set(this.plugins.flatMap((plugin) => plugin.parameters))]
  }

  trainableVariables(): ReadonlyArray<tf.Variable> {
    const variables = new Set<tf.Variable>()
    for (const set of this.parameterSets()) {
      if (set.trainable) for (const [, variable] of set.entries()) variables.add(variable)
    }
    return [...variables]
  }

  describe(): string {
    const lines = [`inputs: ${this.inputs.map((port) => port.name).join(", ")}`]
    for (const plugin of this.plugins) {
      lines.push(
        `${plugin.name}: ${plugin.needs.map((port) => port.name).join(", ")} -> ${plugin.gives.map((port) => port.name).join(", ")}`
      )
    }
    return lines.join("\n")
  }
}

// ---------------------------------------------------------------- run-time wiring checks

const wiringError = (plugin: string, port: string, problem: string) =>
  new GraphWiringError({ plugin, port, problem })

const checkNeed = (
  plugin: AnyPlugin,
  need: AnyPort,
  available: ReadonlyMap<string, AnyPort>
): GraphWiringError | undefined => {
  if (need.gradient !== undefined) {
    for (const upstream of [need.gradient.of, need.gradient.wrt]) {
      if (!available.has(upstream)) {
        return wiringError(
          plugin.name,
          need.name,
          `needs the gradient of ${need.gradient.of} with respect to ${need.gradient.wrt}, but no input or upstream plugin gives '${upstream}'`
        )
      }
    }
    return undefined
  }
  const given = available.get(need.name)
  if (given === undefined) {
    return wiringError(
      plugin.name,
      need.name,
      `needs '${need.name}' (${describePort(need)}), which no input or upstream plugin gives; upstream ports: ${[...available.keys()].join(", ")}`
    )
  }
  if (given.rank !== need.rank || given.dtype !== need.dtype) {
    return wiringError(
      plugin.name,
      need.name,
      `needs ${need.dtype} rank ${need.rank}, but upstream gives ${given.dtype} rank ${given.rank}`
    )
  }
  return undefined
}

const checkObjective = (
  plugins: ReadonlyArray<AnyPlugin>,
  specs: ReadonlyMap<string, AnyPort>
): GraphWiringError | undefined => {
  const objectives = plugins.filter((plugin) => plugin.lossWeights !== undefined)
  const [objective, second] = objectives
  if (second !== undefined) return wiringError(second.name, "objective", "a graph has at most one objective plugin")
  if (objective === undefined) return undefined
  for (const port of specs.keys()) {
    if (isLossPortName(port) && !objective.lossWeights?.has(port)) {
      return wiringError(objective.name, port, `loss port '${port}' is given but the objective has no weight for it`)
    }
  }
  const index = plugins.indexOf(objective)
  if (index !== plugins.length - 1) {
    return wiringError(plugins[index + 1]?.name ?? "", "objective", "the objective plugin must be added last")
  }
  return undefined
}

/** Checks the wiring of plugins given in order, as a graph built from configuration would be. */
export const assembleGraph = (
  inputs: ReadonlyArray<AnyPort>,
  plugins: ReadonlyArray<AnyPlugin>
): Result.Result<Graph, GraphWiringError> => {
  const specs = new Map<string, AnyPort>()
  const sources = new Map<string, PortSource>()
  for (const input of inputs) {
    if (specs.has(input.name)) return Result.fail(wiringError("(inputs)", input.name, "input declared twice"))
    specs.set(input.name, input)
    sources.set(input.name, { kind: "input" })
  }
  for (const [index, plugin] of plugins.entries()) {
    for (const need of plugin.needs) {
      const problem = checkNeed(plugin, need, specs)
      if (problem !== undefined) return Result.fail(problem)
    }
    for (const give of plugin.gives) {
      const source = sources.get(give.name)
      if (source !== undefined) {
        const by = source.kind === "input" ? "a graph input" : `plugin '${plugins[source.index]?.name}'`
        return Result.fail(wiringError(plugin.name, give.name, `'${give.name}' is already given by ${by}`))
      }
      if (give.gradient !== undefined) {
        return Result.fail(wiringError(plugin.name, give.name, "gradient ports are given by the executor, not by plugins"))
      }
      specs.set(give.name, give)
      sources.set(give.name, { kind: "plugin", index })
    }
  }
  const objectiveProblem = checkObjective(plugins, specs)
  if (objectiveProblem !== undefined) return Result.fail(objectiveProblem)
  return Result.succeed(new Graph(inputs, plugins, specs, sources))
}

/**
 * Builds a graph in code, one plugin at a time. Each `add` is checked by the compiler against
 * the ports given so far; `build` runs the same checks again at run time.
 */
export class GraphBuilder<Available extends PortMap> {
  private constructor(
    private readonly inputs: ReadonlyArray<AnyPort>,
    private readonly plugins: ReadonlyArray<AnyPlugin>
  ) {}

  static from<const Inputs extends ReadonlyArray<AnyPort>>(...inputs: Inputs): GraphBuilder<PortsToMap<Inputs>> {
    return new GraphBuilder(inputs, [])
  }

  add<Needs extends PortMap, Gives extends PortMap>(
    plugin: Plugin<Needs, Gives> & WiringCheck<Available, Needs, Gives>
  ): GraphBuilder<Available & Gives> {
    return new GraphBuilder(this.inputs, [...this.plugins, plugin as unknown as AnyPlugin])
  }

  /** Throws the `GraphWiringError` that `assembleGraph` would return. */
  build(): Graph<Available> {
    const assembled = assembleGraph(this.inputs, this.plugins)
    if (Result.isFailure(assembled)) throw assembled.failure
    return assembled.success as Graph<Available>
  }
}
