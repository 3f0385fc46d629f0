/**
 * Runs a graph: forward only (embedding, evaluation) or as a training pass that also returns
 * the gradient of the λ-weighted objective for every trainable weight.
 *
 * Gradient ports split a training pass into stages. A plugin that needs ∂L/∂X can only run
 * after the backward pass of the stage that computed L, so:
 *   - each plugin runs in the earliest stage its needs allow (a gradient port ∂L/∂X is
 *     available one stage after L);
 *   - a stage is one forward pass recorded on a tape, then one backward pass of
 *     Σ λ_k·L_k over the losses it computed, accumulated into the weights' gradients;
 *   - ∂L/∂X comes from that same backward pass (a hook on X keeps the gradient that flows
 *     through it) when L is the only weighted loss of its stage that depends on X; otherwise,
 *     or when λ_L = 0, from a separate backward pass of L alone;
 *   - plugins that read gradient ports run between stages, outside any tape: what they give
 *     is data (a selection, a perturbation), never differentiated;
 *   - a later stage that reads a port which depends on trainable weights recomputes it on its
 *     own tape, so every loss reaches every weight it depends on.
 */
import * as tf from "@tensorflow/tfjs"
import { GraphRunError } from "./errors.ts"
import type { Graph } from "./graph.ts"
import type { AnyPlugin, RunContext } from "./plugin.ts"
import { isLossPortName, type AnyPort, type LossPortName } from "./ports.ts"

export interface StepClock {
  readonly step: number
  readonly totalSteps: number
}

export type WarnOnce = (key: string, message: string) => void

// ---------------------------------------------------------------- plan

interface Plan {
  readonly stageOf: ReadonlyArray<number>
  readonly maxStage: number
  /** Plugin indices that read a gradient port. */
  readonly gradientReaders: ReadonlySet<number>
  readonly objectiveIndex: number
  /** Ports whose value changes when a trainable weight changes. */
  readonly weightDependent: ReadonlySet<string>
  /** Every port each port is computed from (through any edge). */
  readonly ancestors: ReadonlyMap<string, ReadonlySet<string>>
  /** Gradient ports taken from their stage's backward pass, by stage, keyed by the port they hook. */
  readonly hookedByStage: ReadonlyMap<number, ReadonlyMap<string, ReadonlyArray<AnyPort>>>
  /** Gradient ports that need a backward pass of their own, by stage of their loss. */
  readonly separateByStage: ReadonlyMap<number, ReadonlyArray<AnyPort>>
}

const plans = new WeakMap<Graph, Plan>()

const pushTo = <K, V>(map: Map<K, Array<V>>, key: K, value: V) => {
  const list = map.get(key)
  if (list === undefined) map.set(key, [value])
  else list.push(value)
}

const makePlan = (graph: Graph): Plan => {
  const portStage = new Map<string, number>(graph.inputs.map((port) => [port.name, 0]))
  const weightDependent = new Set<string>()
  const differentiableAncestors = new Map<string, Set<string>>()
  const ancestors = new Map<string, Set<string>>(graph.inputs.map((port) => [port.name, new Set<string>()]))
  const gradientReaders = new Set<number>()
  const stageOf: Array<number> = []
  const gradientNeeds: Array<AnyPort> = []
  let objectiveIndex = -1

  for (const [index, plugin] of graph.plugins.entries()) {
    if (plugin.lossWeights !== undefined) objectiveIndex = index
    let stage = 0
    const upstream = new Set<string>()
    const differentiableUpstream = new Set<string>()
    let dependsOnWeights = plugin.parameters.some((set) => set.trainable)
    for (const need of plugin.needs) {
      if (need.gradient !== undefined) {
        gradientReaders.add(index)
        gradientNeeds.push(need)
        stage = Math.max(stage, (portStage.get(need.gradient.of) ?? 0) + 1)
        for (const source of [need.gradient.of, need.gradient.wrt]) {
          upstream.add(source)
          for (const a of ancestors.get(source) ?? []) upstream.add(a)
        }
        continue
      }
      stage = Math.max(stage, portStage.get(need.name) ?? 0)
      upstream.add(need.name)
      for (const a of ancestors.get(need.name) ?? []) upstream.add(a)
      if (!need.constant) {
        differentiableUpstream.add(need.name)
        for (const a of differentiableAncestors.get(need.name) ?? []) differentiableUpstream.add(a)
        if (weightDependent.has(need.name)) dependsOnWeights = true
      }
    }
    const readsGradients = gradientReaders.has(index)
    stageOf.push(stage)
    for (const give of plugin.gives) {
      portStage.set(give.name, stage)
      ancestors.set(give.name, upstream)
      differentiableAncestors.set(give.name, readsGradients ? new Set() : differentiableUpstream)
      if (dependsOnWeights && !readsGradients && !give.constant) weightDependent.add(give.name)
    }
  }

  const hookedByStage = new Map<number, Map<string, Array<AnyPort>>>()
  const separateByStage = new Map<number, Array<AnyPort>>()
  const seen = new Set<string>()
  for (const port of gradientNeeds) {
    if (port.gradient === undefined || seen.has(port.name)) continue
    seen.add(port.name)
    const { of: loss, wrt } = port.gradient
    const stage = portStage.get(loss) ?? 0
    const sharedWithAnotherLoss = graph
      .lossPorts()
      .some(
        (other) =>
          other !== loss &&
          graph.lossWeight(other) !== 0 &&
          portStage.get(other) === stage &&
          (differentiableAncestors.get(other)?.has(wrt) ?? false)
      )
    if (graph.lossWeight(loss) === 0 || sharedWithAnotherLoss) {
      pushTo(separateByStage, stage, port)
    } else {
      const hooks = hookedByStage.get(stage) ?? new Map<string, Array<AnyPort>>()
      hookedByStage.set(stage, hooks)
      pushTo(hooks, wrt, port)
    }
  }

  return {
    stageOf,
    maxStage: Math.max(0, ...stageOf),
    gradientReaders,
    objectiveIndex,
    weightDependent,
    ancestors,
    hookedByStage,
    separateByStage
  }
}

const planOf = (graph: Graph): Plan => {
  const cached = plans.get(graph)
  if (cached !== undefined) return cached
  const plan = makePlan(graph)
  plans.set(graph, plan)
  return plan
}

/** The stage each plugin runs in during a training pass, for docs and tests. */
export const trainingStages = (graph: Graph): ReadonlyArray<{ readonly plugin: string; readonly stage: number }> => {
  const plan = planOf(graph)
  return graph.plugins.map((plugin, index) => ({ plugin: plugin.name, stage: plan.stageOf[index] ?? 0 }))
}

// ---------------------------------------------------------------- running one plugin

type Resolve = (port: string) => tf.Tensor

const runPlugin = (plugin: AnyPlugin, resolve: Resolve, context: RunContext): Record<string, tf.Tensor> => {
  const inputs: Record<string, tf.Tensor> = {}
  for (const need of plugin.needs) inputs[need.name] = resolve(need.name)
  const outputs = plugin.run(inputs, context)
  for (const give of plugin.gives) {
    const value = outputs[give.name]
    if (value === undefined) {
      throw new GraphRunError({ plugin: plugin.name, problem: `did not give port '${give.name}'` })
    }
    if (value.rank !== give.rank) {
      throw new GraphRunError({
        plugin: plugin.name,
        problem: `gave port '${give.name}' with shape [${value.shape.join(", ")}], declared rank ${give.rank}`
      })
    }
  }
  return outputs
}

const pluginOf = (graph: Graph, port: string): { readonly plugin: AnyPlugin; readonly index: number } | undefined => {
  const source = graph.sources.get(port)
  if (source === undefined || source.kind === "input") return undefined
  const plugin = graph.plugins[source.index]
  return plugin === undefined ? undefined : { plugin, index: source.index }
}

/** Keeps the gradient that flows back through `x`, and passes it on unchanged. */
const hookGradient = (x: tf.Tensor, onGradient: (gradient: tf.Tensor) => void): tf.Tensor =>
  tf.customGrad((input) => ({
    value: (input as tf.Tensor).clone(),
    gradFunc: (dy: tf.Tensor) => {
      onGradient(tf.keep(dy.clone()))
      return dy
    }
  }))(x)

// ---------------------------------------------------------------- a pass

/** The tensors of one pass. The caller owns them until `dispose`. */
export interface Pass {
  readonly values: ReadonlyMap<string, tf.Tensor>
  readonly gradients: ReadonlyMap<tf.Variable, tf.Tensor>
  dispose(): void
}

class PassState {
  readonly values: Map<string, tf.Tensor>
  readonly gradients = new Map<tf.Variable, tf.Tensor>()
  private readonly owned: Array<tf.Tensor> = []

  constructor(
    readonly graph: Graph,
    readonly plan: Plan,
    inputs: Readonly<Record<string, tf.Tensor>>,
    readonly clock: StepClock,
    readonly warnOnce: WarnOnce,
    readonly training: boolean
  ) {
    this.values = new Map()
    for (const input of graph.inputs) {
      const value = inputs[input.name]
      if (value === undefined) throw new GraphRunError({ plugin: "(inputs)", problem: `input '${input.name}' is missing` })
      if (value.rank !== input.rank) {
        throw new GraphRunError({
          plugin: "(inputs)",
          problem: `input '${input.name}' has shape [${value.shape.join(", ")}], expected rank ${input.rank} (${input.doc})`
        })
      }
      this.values.set(input.name, value)
    }
  }

  store(port: string, value: tf.Tensor): void {
    this.values.set(port, value)
    this.owned.push(value)
  }

  read(port: string): tf.Tensor {
    const value = this.values.get(port)
    if (value === undefined) throw new GraphRunError({ plugin: "(executor)", problem: `port '${port}' has no value yet` })
    return value
  }

  context(): RunContext {
    return {
      training: this.training,
      step: this.clock.step,
      totalSteps: this.clock.totalSteps,
      recompute: (port, overrides) => this.recompute(port, overrides),
      warnOnce: this.warnOnce
    }
  }

  /** Re-evaluates `target` with `overrides` in place, reusing this pass's values elsewhere. */
  recompute(target: string, overrides: Readonly<Record<string, tf.Tensor>>): tf.Tensor {
    const replaced = Object.keys(overrides)
    const local = new Map<string, tf.Tensor>(Object.entries(overrides))
    const evaluate = (port: string): tf.Tensor => {
      const known = local.get(port)
      if (known !== undefined) return known
      const affected = replaced.some((name) => this.plan.ancestors.get(port)?.has(name) ?? false)
      const producer = pluginOf(this.graph, port)
      if (!affected || producer === undefined) return this.read(port)
      if (this.plan.gradientReaders.has(producer.index)) {
        throw new GraphRunError({
          plugin: producer.plugin.name,
          problem: `cannot recompute '${target}': it depends on this plugin, which reads a gradient port`
        })
      }
      const outputs = runPlugin(producer.plugin, evaluate, this.context())
      for (const [name, value] of Object.entries(outputs)) local.set(name, value)
      return outputs[port] ?? this.read(port)
    }
    return evaluate(target)
  }

  runOutsideTape(plugin: AnyPlugin): void {
    const outputs = tf.tidy(() => runPlugin(plugin, (port) => this.read(port), this.context()))
    for (const give of plugin.gives) {
      const value = outputs[give.name]
      if (value !== undefined) this.store(give.name, value)
    }
  }

  /** One stage: forward on a tape, backward of its weighted losses, hooks and gradient ports. */
  runStage(stage: number, plugins: ReadonlyArray<AnyPlugin>): void {
    const hooks = this.plan.hookedByStage.get(stage) ?? new Map<string, ReadonlyArray<AnyPort>>()
    const captured = new Map<string, tf.Tensor>()
    const weightedLosses = plugins
      .flatMap((plugin) => plugin.gives)
      .map((port) => port.name)
      .filter((name): name is LossPortName => isLossPortName(name) && this.graph.lossWeight(name) !== 0)
    const stagePorts = new Set(plugins.flatMap((plugin) => plugin.gives.map((port) => port.name)))

    const forward = (): tf.Scalar => {
      const local = new Map<string, tf.Tensor>()
      const admit = (port: string, value: tf.Tensor): tf.Tensor => {
        const admitted = hooks.has(port) ? hookGradient(value, (gradient) => captured.set(port, gradient)) : value
        local.set(port, admitted)
        return admitted
      }
      const resolve = (port: string): tf.Tensor => {
        const known = local.get(port)
        if (known !== undefined) return known
        const producer = pluginOf(this.graph, port)
        const fromEarlierStage = !stagePorts.has(port)
        if (fromEarlierStage && producer !== undefined && this.plan.weightDependent.has(port)) {
          // Recompute on this tape so that this stage's losses reach the weights behind it.
          const outputs = runPlugin(producer.plugin, resolve, this.context())
          for (const [name, value] of Object.entries(outputs)) if (!local.has(name)) admit(name, value)
          return local.get(port) ?? this.read(port)
        }
        if (fromEarlierStage) return admit(port, this.read(port))
        return this.read(port)
      }
      for (const plugin of plugins) {
        const outputs = runPlugin(plugin, resolve, this.context())
        for (const give of plugin.gives) {
          const value = outputs[give.name]
          if (value === undefined) continue
          const admitted = admit(give.name, value)
          this.store(give.name, tf.keep(admitted))
        }
      }
      const terms = weightedLosses.map((loss) => tf.mul(this.read(loss), this.graph.lossWeight(loss)))
      if (terms.length === 0) return tf.scalar(0)
      return (terms.length === 1 ? terms[0] : tf.addN(terms)) as tf.Scalar
    }

    if (weightedLosses.length === 0 || !this.training) {
      tf.tidy(() => {
        forward()
      })
    } else {
      const variables = this.graph.trainableVariables()
      const { value, grads } = tf.engine().gradients(forward, [...variables], undefined, true)
      value.dispose()
      for (const [index, gradient] of (grads as ReadonlyArray<tf.Tensor | null | undefined>).entries()) {
        const variable = variables[index]
        if (gradient == null || variable === undefined) continue
        const previous = this.gradients.get(variable)
        if (previous === undefined) this.gradients.set(variable, gradient)
        else {
          this.gradients.set(variable, tf.add(previous, gradient))
          previous.dispose()
          gradient.dispose()
        }
      }
    }

    for (const [wrt, ports] of hooks) {
      const gradient = captured.get(wrt)
      for (const port of ports) {
        const loss = port.gradient?.of
        const weight = loss === undefined ? 1 : this.graph.lossWeight(loss)
        this.store(
          port.name,
          tf.tidy(() => (gradient === undefined ? tf.zerosLike(this.read(wrt)) : tf.div(gradient, weight)))
        )
      }
      gradient?.dispose()
    }
    for (const port of this.plan.separateByStage.get(stage) ?? []) {
      const { of: loss, wrt } = port.gradient ?? { of: "", wrt: "" }
      const gradient = tf.tidy(() =>
        tf.grad((x: tf.Tensor) => this.recompute(loss, { [wrt]: x }))(this.read(wrt))
      )
      this.store(port.name, gradient)
    }
  }

  toPass(): Pass {
    const owned = this.owned
    const gradients = this.gradients
    return {
      values: this.values,
      gradients,
      dispose: () => {
        for (const tensor of owned) tensor.dispose()
        for (const gradient of gradients.values()) gradient.dispose()
      }
    }
  }

  disposeAll(): void {
    this.toPass().dispose()
  }
}

/**
 * A training pass: every plugin runs, stage by stage, and the result holds every port's value
 * and the gradient of Σ λ_k·L_k for each trainable weight the losses reach.
 */
export const runTrainingPass = (
  graph: Graph,
  inputs: Readonly<Record<string, tf.Tensor>>,
  clock: StepClock,
  warnOnce: WarnOnce
): Pass => {
  const plan = planOf(graph)
  const state = new PassState(graph, plan, inputs, clock, warnOnce, true)
  // A plugin that throws must not leave the pass's tensors behind.
  let finished = false
  try {
    for (let stage = 0; stage <= plan.maxStage; stage++) {
      const inStage = graph.plugins
        .map((plugin, index) => ({ plugin, index }))
        .filter(({ index }) => plan.stageOf[index] === stage && index !== plan.objectiveIndex)
      for (const { plugin, index } of inStage) if (plan.gradientReaders.has(index)) state.runOutsideTape(plugin)
      const taped = inStage.filter(({ index }) => !plan.gradientReaders.has(index)).map(({ plugin }) => plugin)
      if (taped.length > 0) state.runStage(stage, taped)
    }
    const objective = graph.plugins[plan.objectiveIndex]
    if (objective !== undefined) state.runOutsideTape(objective)
    finished = true
  } finally {
    if (!finished) state.disposeAll()
  }
  return state.toPass()
}

/**
 * A forward-only run of the plugins that `outputs` depend on. Returns those ports; the caller
 * owns them. Plugins that read gradient ports cannot run here.
 */
export const runForward = <Ports extends Record<string, tf.Tensor>, const Wanted extends keyof Ports & string>(
  graph: Graph<Ports>,
  inputs: Readonly<Record<string, tf.Tensor>>,
  outputs: ReadonlyArray<Wanted>,
  clock: StepClock = { step: 0, totalSteps: 0 },
  warnOnce: WarnOnce = () => {}
): { [K in Wanted]: Ports[K] } => {
  const plan = planOf(graph as Graph)
  const needed = new Set<string>()
  for (const port of outputs) {
    needed.add(port)
    for (const ancestor of plan.ancestors.get(port) ?? []) needed.add(ancestor)
  }
  return tf.tidy(() => {
    const state = new PassState(graph as Graph, plan, inputs, clock, warnOnce, false)
    for (const [index, plugin] of graph.plugins.entries()) {
      if (!plugin.gives.some((port) => needed.has(port.name))) continue
      if (plan.gradientReaders.has(index)) {
        throw new GraphRunError({
          plugin: plugin.name,
          problem: "reads a gradient port, so it only runs inside a training pass"
        })
      }
      const produced = runPlugin(plugin, (port) => state.read(port), state.context())
      for (const [name, value] of Object.entries(produced)) state.values.set(name, value)
    }
    const result: Record<string, tf.Tensor> = {}
    for (const port of outputs) result[port] = state.read(port)
    return result
  }) as { [K in Wanted]: Ports[K] }
}
