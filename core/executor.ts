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
import { fusedUpdates } from "./backend-extras.ts"
import type { Graph } from "./graph.ts"
import type { AnyPlugin, RunContext } from "./plugin.ts"
import { assembleMicroBatches, planMicroBatches, rowLengthsOf, sliceMicroBatch, type MicroBatch } from "./micro-batch.ts"
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

export interface PassOptions {
  /**
   * Rows per micro-batch: a stage whose losses need the whole batch (MCCL's similarity matrix)
   * runs its row-wise plugins a few rows at a time, GradCache's way (see runStageInMicroBatches).
   * Unset, or at least the batch's rows: the whole batch at once.
   */
  readonly microBatch?: number | undefined
  /**
   * A [batch, seq] input port that is non-zero at real tokens: each micro-batch is then cut to its
   * own longest row on the token axis of per-token ports (core/micro-batch.ts).
   */
  readonly lengthMask?: string | undefined
  /**
   * How a micro-batched stage holds its activations. "recompute" (GradCache): one micro-batch at a
   * time, at the cost of running the row-wise plugins twice. "keep": every micro-batch on one tape,
   * each cut to its rows' length: no plugin runs twice, memory grows with the batch.
   */
  readonly memory?: "recompute" | "keep" | undefined
}

/** How a set of plugins splits for micro-batches: `rows` run a few rows at a time, `batch` on the whole batch. */
interface RowSplit {
  readonly rows: ReadonlyArray<AnyPlugin>
  readonly batch: ReadonlyArray<AnyPlugin>
  /** Ports the row-wise part gives. */
  readonly rowPorts: ReadonlySet<string>
  /** Ports the row-wise part gives and the whole-batch part reads: assembled from the micro-batches. */
  readonly cut: ReadonlyArray<string>
}

/**
 * In graph order, a plugin runs on rows if it says it is row-wise, gives no scalar, and every port it
 * reads from `plugins` comes from the row-wise part; everything else sees the whole batch.
 */
const splitByRows = (plugins: ReadonlyArray<AnyPlugin>): RowSplit => {
  const given = new Set(plugins.flatMap((plugin) => plugin.gives.map((port) => port.name)))
  const rowPorts = new Set<string>()
  const rows: Array<AnyPlugin> = []
  const batch: Array<AnyPlugin> = []
  for (const plugin of plugins) {
    const onRows =
      plugin.rowWise === true &&
      plugin.gives.every((port) => port.rank > 0) &&
      plugin.needs.every((need) => !given.has(need.name) || rowPorts.has(need.name))
    if (onRows) {
      rows.push(plugin)
      for (const port of plugin.gives) rowPorts.add(port.name)
    } else batch.push(plugin)
  }
  const cut = [...new Set(batch.flatMap((plugin) => plugin.needs.map((need) => need.name)).filter((name) => rowPorts.has(name)))]
  return { rows, batch, rowPorts, cut }
}

/** The plugins among `rows` that `ports` are computed from, in order. */
const rowPluginsFor = (rows: ReadonlyArray<AnyPlugin>, ports: ReadonlyArray<string>): ReadonlyArray<AnyPlugin> => {
  const wanted = new Set(ports)
  const chosen: Array<AnyPlugin> = []
  for (const plugin of [...rows].reverse()) {
    if (!plugin.gives.some((port) => wanted.has(port.name))) continue
    chosen.unshift(plugin)
    for (const need of plugin.needs) wanted.add(need.name)
  }
  return chosen
}

class PassState {
  readonly values: Map<string, tf.Tensor>
  readonly gradients = new Map<tf.Variable, tf.Tensor>()
  private readonly owned: Array<tf.Tensor> = []
  /** The batch's micro-batches, when the pass runs in more than one. */
  readonly microBatches: ReadonlyArray<MicroBatch> | undefined
  private readonly memory: "recompute" | "keep"
  private readonly seq: number

  constructor(
    readonly graph: Graph,
    readonly plan: Plan,
    inputs: Readonly<Record<string, tf.Tensor>>,
    readonly clock: StepClock,
    readonly warnOnce: WarnOnce,
    readonly training: boolean,
    options: PassOptions = {}
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
    const batchInput = graph.inputs.map((port) => this.values.get(port.name)).find((value) => value !== undefined && value.rank > 0)
    const rows = batchInput?.shape[0] ?? 0
    const tokenInput = graph.inputs.find((port) => port.perToken === true)
    this.seq = (tokenInput === undefined ? undefined : this.values.get(tokenInput.name)?.shape[1]) ?? 0
    this.memory = options.memory ?? "recompute"
    const size = options.microBatch
    if (size !== undefined && size < rows) {
      const mask = options.lengthMask === undefined ? undefined : this.values.get(options.lengthMask)
      this.microBatches = planMicroBatches(rows, this.seq, size, mask === undefined ? undefined : rowLengthsOf(mask))
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

  /** What plugins see of the pass; `rows` when they run on a micro-batch. */
  context(rows?: MicroBatch): RunContext {
    return {
      training: this.training,
      step: this.clock.step,
      totalSteps: this.clock.totalSteps,
      rows: rows === undefined ? undefined : { start: rows.start, count: rows.rows },
      gradient: (loss, wrt, at) => this.gradientAt(loss, wrt, at),
      warnOnce: this.warnOnce
    }
  }

  private perToken(port: string): boolean {
    return this.graph.portSpecs.get(port)?.perToken === true
  }

  private slice(port: string, value: tf.Tensor, micro: MicroBatch): tf.Tensor {
    if (value.rank > 0 && value.shape[0] !== this.batchRows()) {
      throw new GraphRunError({
        plugin: "(executor)",
        problem: `port '${port}' has shape [${value.shape.join(", ")}], not ${this.batchRows()} rows: a row-wise plugin reads it, so it must be batch-major`
      })
    }
    return sliceMicroBatch(value, micro, this.perToken(port))
  }

  private batchRows(): number {
    const last = this.microBatches?.at(-1)
    return last === undefined ? 0 : last.start + last.rows
  }

  private assemble(port: string, parts: ReadonlyArray<tf.Tensor>): tf.Tensor {
    return assembleMicroBatches(parts, this.microBatches ?? [], this.seq, this.perToken(port))
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

  /** ∂loss/∂wrt with `wrt` set to `at`: one backward pass, or GradCache's three steps over micro-batches. */
  gradientAt(loss: string, wrt: string, at: tf.Tensor): tf.Tensor {
    if (this.microBatches === undefined) return tf.tidy(() => tf.grad((x: tf.Tensor) => this.recompute(loss, { [wrt]: x }))(at))
    return this.gradientInMicroBatches(loss, wrt, at, this.microBatches)
  }

  runOutsideTape(plugin: AnyPlugin): void {
    const outputs = tf.tidy(() => runPlugin(plugin, (port) => this.read(port), this.context()))
    for (const give of plugin.gives) {
      const value = outputs[give.name]
      if (value !== undefined) this.store(give.name, value)
    }
  }

  private weightedLosses(plugins: ReadonlyArray<AnyPlugin>): ReadonlyArray<LossPortName> {
    return plugins
      .flatMap((plugin) => plugin.gives)
      .map((port) => port.name)
      .filter((name): name is LossPortName => isLossPortName(name) && this.graph.lossWeight(name) !== 0)
  }

  private weightedSum(losses: ReadonlyArray<LossPortName>): tf.Scalar {
    const terms = losses.map((loss) => tf.mul(this.read(loss), this.graph.lossWeight(loss)))
    if (terms.length === 0) return tf.scalar(0)
    return (terms.length === 1 ? terms[0] : tf.addN(terms)) as tf.Scalar
  }

  /** Adds a backward pass's gradients to the pass's sums: in place where the backend can (core/backend-extras.ts). */
  private accumulate(variables: ReadonlyArray<tf.Variable>, grads: ReadonlyArray<tf.Tensor | null | undefined>): void {
    const fused = fusedUpdates()
    // The same tensor given for two weights would be summed into both in place: each gets its own
    // (a clone shares the memory, which the in-place sum then declines).
    const distinct = grads.map((gradient, index) => (gradient != null && grads.indexOf(gradient) < index ? tf.clone(gradient) : gradient))
    for (const [index, gradient] of distinct.entries()) {
      const variable = variables[index]
      if (gradient == null || variable === undefined) continue
      const previous = this.gradients.get(variable)
      if (previous === undefined) this.gradients.set(variable, gradient)
      else if (fused?.addInto(previous, gradient) === true) gradient.dispose()
      else {
        this.gradients.set(variable, tf.add(previous, gradient))
        previous.dispose()
        gradient.dispose()
      }
    }
  }

  /** Stores each hooked gradient port of the stage: the gradient caught at its port, divided by λ of its loss. */
  private storeHooked(hooks: ReadonlyMap<string, ReadonlyArray<AnyPort>>, captured: ReadonlyMap<string, tf.Tensor>): void {
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
  }

  private storeSeparateGradients(stage: number): void {
    for (const port of this.plan.separateByStage.get(stage) ?? []) {
      const { of: loss, wrt } = port.gradient ?? { of: "", wrt: "" }
      this.store(port.name, this.gradientAt(loss, wrt, this.read(wrt)))
    }
  }

  /**
   * The stage's taped plugins and, before them, the producers of the ports they read from earlier
   * stages that depend on trainable weights: those are recomputed on this stage's tape, so that this
   * stage's losses reach the weights behind them.
   */
  private withRecomputedProducers(plugins: ReadonlyArray<AnyPlugin>): ReadonlyArray<AnyPlugin> {
    const chosen = new Set(plugins)
    const stagePorts = new Set(plugins.flatMap((plugin) => plugin.gives.map((port) => port.name)))
    const pending = plugins.flatMap((plugin) => plugin.needs.map((need) => need.name))
    while (pending.length > 0) {
      const port = pending.pop() ?? ""
      if (stagePorts.has(port) || !this.plan.weightDependent.has(port)) continue
      const producer = pluginOf(this.graph, port)
      if (producer === undefined || chosen.has(producer.plugin)) continue
      chosen.add(producer.plugin)
      pending.push(...producer.plugin.needs.map((need) => need.name))
    }
    return this.graph.plugins.filter((plugin) => chosen.has(plugin))
  }

  /** One stage: forward on a tape, backward of its weighted losses, hooks and gradient ports. */
  runStage(stage: number, plugins: ReadonlyArray<AnyPlugin>): void {
    if (this.microBatches !== undefined) {
      const learns = this.training && this.weightedLosses(plugins).length > 0
      if (learns && this.memory === "keep") this.runStageInSegments(stage, plugins, this.microBatches)
      else this.runStageInMicroBatches(stage, plugins, this.microBatches)
      return
    }
    const hooks = this.plan.hookedByStage.get(stage) ?? new Map<string, ReadonlyArray<AnyPort>>()
    const captured = new Map<string, tf.Tensor>()
    const weightedLosses = this.weightedLosses(plugins)
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
      return this.weightedSum(weightedLosses)
    }

    if (weightedLosses.length === 0 || !this.training) {
      tf.tidy(() => {
        forward()
      })
    } else {
      const variables = this.graph.trainableVariables()
      const { value, grads } = tf.engine().gradients(forward, [...variables], undefined, true)
      value.dispose()
      this.accumulate(variables, grads)
    }
    this.storeHooked(hooks, captured)
    this.storeSeparateGradients(stage)
  }

  /**
   * How a stage runs in micro-batches: its plugins (with recomputed producers) split into row-wise
   * and whole-batch parts, and which row-wise ports are put back together: those the whole-batch
   * part reads (cut) and those something outside the row-wise part reads later (kept, and stored).
   */
  private rowLayout(plugins: ReadonlyArray<AnyPlugin>) {
    const split = splitByRows(this.withRecomputedProducers(plugins))
    const own = new Set(plugins)
    const rowSet = new Set(split.rows)
    const readElsewhere = new Set(
      this.graph.plugins.filter((plugin) => !rowSet.has(plugin)).flatMap((plugin) => plugin.needs.map((need) => need.name))
    )
    const wrtPorts = new Set([...this.graph.portSpecs.values()].flatMap((port) => (port.gradient === undefined ? [] : [port.gradient.wrt])))
    const kept = split.rows
      .filter((plugin) => own.has(plugin))
      .flatMap((plugin) => plugin.gives.map((port) => port.name))
      .filter((port) => readElsewhere.has(port) || wrtPorts.has(port))
    const assembledPorts = [...new Set([...split.cut, ...kept])]
    return { split, own, kept, assembledPorts }
  }

  /**
   * One stage in segments on one tape: the row-wise plugins run segment by segment, each cut to its
   * rows' length, the segments are put back together on the tape, the whole-batch plugins follow,
   * and one backward pass gives every gradient. No plugin runs twice; memory holds the whole batch's
   * activations, without the padding the segments cut.
   */
  private runStageInSegments(stage: number, plugins: ReadonlyArray<AnyPlugin>, segments: ReadonlyArray<MicroBatch>): void {
    const hooks = this.plan.hookedByStage.get(stage) ?? new Map<string, ReadonlyArray<AnyPort>>()
    const weightedLosses = this.weightedLosses(plugins)
    const { split, own, kept, assembledPorts } = this.rowLayout(plugins)
    const caught = new Map<string, Array<tf.Tensor | undefined>>()
    const captured = new Map<string, tf.Tensor>()
    const forward = (): tf.Scalar => {
      const parts = new Map<string, Array<tf.Tensor>>(assembledPorts.map((port) => [port, []]))
      segments.forEach((rows, index) => {
        const local = this.runRows(split.rows, rows, new Map(), (port, value) =>
          hooks.has(port)
            ? hookGradient(value, (gradient) => {
                const list = caught.get(port) ?? []
                list[index] = gradient
                caught.set(port, list)
              })
            : value
        )
        for (const port of assembledPorts) {
          const value = local.get(port)
          if (value !== undefined) parts.get(port)?.push(value)
        }
      })
      const whole = new Map<string, tf.Tensor>()
      for (const [port, list] of parts) if (list.length > 0) whole.set(port, this.assemble(port, list))
      for (const port of kept) {
        const value = whole.get(port)
        if (value !== undefined) this.store(port, tf.keep(value))
      }
      const local = new Map<string, tf.Tensor>()
      const resolve = (port: string): tf.Tensor => {
        const known = local.get(port)
        if (known !== undefined) return known
        const value = whole.get(port) ?? this.read(port)
        const admitted = hooks.has(port) && !split.rowPorts.has(port) ? hookGradient(value, (gradient) => captured.set(port, gradient)) : value
        local.set(port, admitted)
        return admitted
      }
      for (const plugin of split.batch) {
        const outputs = runPlugin(plugin, resolve, this.context())
        for (const give of plugin.gives) {
          const value = outputs[give.name]
          if (value === undefined) continue
          const admitted = hooks.has(give.name) ? hookGradient(value, (gradient) => captured.set(give.name, gradient)) : value
          local.set(give.name, admitted)
          if (own.has(plugin)) this.store(give.name, tf.keep(admitted))
        }
      }
      return this.weightedSum(weightedLosses)
    }
    const variables = this.graph.trainableVariables()
    const { value, grads } = tf.engine().gradients(forward, [...variables], undefined, true)
    value.dispose()
    this.accumulate(variables, grads)
    for (const [port, list] of caught) {
      // A segment whose rows no loss reached gives no gradient at the hook: zeros there.
      const pieces = segments.map((rows, index) => list[index] ?? tf.zerosLike(this.slice(port, this.read(port), rows)))
      captured.set(port, this.assemble(port, pieces))
      tf.dispose(pieces)
    }
    this.storeHooked(hooks, captured)
    this.storeSeparateGradients(stage)
  }

  /**
   * One stage over micro-batches, as GradCache computes a contrastive loss over a batch too big for
   * one backward pass (Gao et al. 2021):
   *   1. the row-wise plugins (the encoder) run on each micro-batch with no tape, and the ports the
   *      whole-batch plugins read (the sentence vectors) are put back together;
   *   2. the whole-batch plugins (heads with BatchNorm, MCCL) run on the whole batch on a tape, which
   *      gives their weights' gradients and ∂L/∂(those ports);
   *   3. each micro-batch runs its row-wise plugins again on a tape and back-propagates its rows of
   *      ∂L/∂(those ports) into the weights, which are summed over micro-batches.
   * Gradient ports hooked on row-wise ports (∂L_MCCL/∂e) are caught in step 3, per micro-batch. The
   * result is the whole-batch stage's to float rounding; memory holds one micro-batch's activations.
   * Ports that only row-wise plugins read are not kept (they would be the whole batch's activations).
   */
  private runStageInMicroBatches(stage: number, plugins: ReadonlyArray<AnyPlugin>, micro: ReadonlyArray<MicroBatch>): void {
    const hooks = this.plan.hookedByStage.get(stage) ?? new Map<string, ReadonlyArray<AnyPort>>()
    const weightedLosses = this.weightedLosses(plugins)
    const { split, own, kept, assembledPorts } = this.rowLayout(plugins)

    // 1. Row-wise plugins on each micro-batch, no tape.
    const parts = new Map<string, Array<tf.Tensor>>(assembledPorts.map((port) => [port, []]))
    for (const rows of micro) {
      const outputs = tf.tidy(() => {
        const local = this.runRows(split.rows, rows, new Map())
        const wanted: Record<string, tf.Tensor> = {}
        for (const port of assembledPorts) {
          const value = local.get(port)
          if (value !== undefined) wanted[port] = value
        }
        return wanted
      })
      for (const [port, value] of Object.entries(outputs)) parts.get(port)?.push(value)
    }
    const whole = new Map<string, tf.Tensor>()
    for (const [port, list] of parts) {
      if (list.length === 0) continue
      whole.set(port, this.assemble(port, list))
      tf.dispose(list)
    }
    for (const port of kept) {
      const value = whole.get(port)
      if (value !== undefined) this.store(port, value)
    }
    const temporary = [...whole].filter(([port]) => !kept.includes(port)).map(([, value]) => value)

    // 2. Whole-batch plugins on a tape: their weights' gradients and ∂L/∂(cut ports).
    const captured = new Map<string, tf.Tensor>()
    const admitWhole = (port: string, value: tf.Tensor): tf.Tensor =>
      hooks.has(port) && !split.rowPorts.has(port) ? hookGradient(value, (gradient) => captured.set(port, gradient)) : value
    const differentiable = split.cut.filter((port) => this.plan.weightDependent.has(port) && whole.has(port))
    const cutTensors = differentiable.map((port) => whole.get(port) as tf.Tensor)
    const forwardWhole = (): tf.Scalar => {
      const local = new Map<string, tf.Tensor>()
      const resolve = (port: string): tf.Tensor => {
        const known = local.get(port)
        if (known !== undefined) return known
        const value = admitWhole(port, whole.get(port) ?? this.read(port))
        local.set(port, value)
        return value
      }
      for (const plugin of split.batch) {
        const outputs = runPlugin(plugin, resolve, this.context())
        for (const give of plugin.gives) {
          const value = outputs[give.name]
          if (value === undefined) continue
          const admitted = admitWhole(give.name, value)
          local.set(give.name, admitted)
          if (own.has(plugin)) this.store(give.name, tf.keep(admitted))
        }
      }
      return this.weightedSum(weightedLosses)
    }
    const learns = weightedLosses.length > 0 && this.training
    let cutGradients: ReadonlyArray<tf.Tensor | null> = []
    if (!learns) {
      tf.tidy(() => {
        forwardWhole()
      })
    } else {
      const variables = this.graph.trainableVariables()
      const { value, grads } = tf.engine().gradients(forwardWhole, [...variables, ...cutTensors], undefined, true)
      value.dispose()
      this.accumulate(variables, grads.slice(0, variables.length))
      cutGradients = grads.slice(variables.length)
    }

    // 3. Each micro-batch again, on a tape, back-propagating its rows of ∂L/∂(cut ports).
    const rowHooks = [...hooks.keys()].filter((port) => split.rowPorts.has(port))
    const reached = differentiable.filter((_, index) => cutGradients[index] != null)
    if (learns && (reached.length > 0 || rowHooks.length > 0)) {
      const replay = rowPluginsFor(split.rows, [...reached, ...rowHooks])
      const variables = this.graph.trainableVariables()
      const caught = new Map<string, Array<tf.Tensor>>(rowHooks.map((port) => [port, []]))
      for (const rows of micro) {
        const surrogate = (): tf.Scalar => {
          const local = this.runRows(replay, rows, new Map(), (port, value) =>
            caught.has(port) ? hookGradient(value, (gradient) => caught.get(port)?.push(gradient)) : value
          )
          const terms = differentiable.flatMap((port, index) => {
            const upstream = cutGradients[index]
            const value = local.get(port)
            return upstream == null || value === undefined ? [] : [tf.sum(tf.mul(value, this.slice(port, upstream, rows)))]
          })
          return (terms.length === 0 ? tf.scalar(0) : tf.addN(terms)) as tf.Scalar
        }
        const { value, grads } = tf.engine().gradients(surrogate, [...variables], undefined, true)
        value.dispose()
        this.accumulate(variables, grads)
        // A micro-batch whose rows no loss reached gives no gradient at the hook: zeros there.
        for (const [port, list] of caught) {
          if (list.length < micro.indexOf(rows) + 1) list.push(tf.tidy(() => tf.zerosLike(this.slice(port, this.read(port), rows))))
        }
      }
      for (const [port, list] of caught) {
        captured.set(port, this.assemble(port, list))
        tf.dispose(list)
      }
    }
    tf.dispose([...temporary, ...cutGradients.filter((gradient): gradient is tf.Tensor => gradient != null)])
    this.storeHooked(hooks, captured)
    this.storeSeparateGradients(stage)
  }

  /**
   * The row-wise plugins on one micro-batch: ports they give are local; anything else is this pass's
   * value (or an override) cut to the micro-batch's rows. `admit` may wrap each port as it enters.
   */
  private runRows(
    plugins: ReadonlyArray<AnyPlugin>,
    rows: MicroBatch,
    overrides: ReadonlyMap<string, tf.Tensor>,
    admit: (port: string, value: tf.Tensor) => tf.Tensor = (_, value) => value
  ): Map<string, tf.Tensor> {
    const local = new Map<string, tf.Tensor>()
    const resolve = (port: string): tf.Tensor => {
      const known = local.get(port)
      if (known !== undefined) return known
      const override = overrides.get(port)
      const value = admit(port, override ?? this.slice(port, this.read(port), rows))
      local.set(port, value)
      return value
    }
    const context = this.context(rows)
    for (const plugin of plugins) {
      const outputs = runPlugin(plugin, resolve, context)
      for (const give of plugin.gives) {
        const value = outputs[give.name]
        if (value !== undefined) local.set(give.name, admit(give.name, value))
      }
    }
    return local
  }

  /** ∂loss/∂wrt at `at` over micro-batches: the same three steps as runStageInMicroBatches. */
  private gradientInMicroBatches(loss: string, wrt: string, at: tf.Tensor, micro: ReadonlyArray<MicroBatch>): tf.Tensor {
    const lossAncestors = this.plan.ancestors.get(loss) ?? new Set<string>()
    const affected = this.graph.plugins.filter((plugin, index) => {
      const gives = plugin.gives.map((port) => port.name)
      const onPath = gives.includes(loss) || gives.some((port) => lossAncestors.has(port))
      const fromWrt = plugin.needs.some((need) => need.name === wrt || (this.plan.ancestors.get(need.name)?.has(wrt) ?? false))
      if (onPath && fromWrt && this.plan.gradientReaders.has(index)) {
        throw new GraphRunError({ plugin: plugin.name, problem: `cannot take ∂${loss}/∂${wrt}: it depends on this plugin, which reads a gradient port` })
      }
      return onPath && fromWrt
    })
    const split = splitByRows(affected)
    const readsWrtWhole = split.batch.some((plugin) => plugin.needs.some((need) => need.name === wrt))

    // 1. Row-wise plugins per micro-batch with wrt := at, no tape.
    const parts = new Map<string, Array<tf.Tensor>>(split.cut.map((port) => [port, []]))
    for (const rows of micro) {
      const outputs = tf.tidy(() => {
        const local = this.runRows(split.rows, rows, new Map([[wrt, this.slice(wrt, at, rows)]]))
        const wanted: Record<string, tf.Tensor> = {}
        for (const port of split.cut) {
          const value = local.get(port)
          if (value !== undefined) wanted[port] = value
        }
        return wanted
      })
      for (const [port, value] of Object.entries(outputs)) parts.get(port)?.push(value)
    }
    const whole = new Map<string, tf.Tensor>()
    for (const [port, list] of parts) {
      whole.set(port, this.assemble(port, list))
      tf.dispose(list)
    }

    // 2. The loss on the whole batch: ∂loss/∂(cut ports), and ∂loss/∂wrt where whole-batch plugins read it.
    const xs = [...split.cut.map((port) => whole.get(port) as tf.Tensor), ...(readsWrtWhole ? [at] : [])]
    const { value, grads } = tf.engine().gradients(
      () => {
        const local = new Map<string, tf.Tensor>([[wrt, at], ...whole])
        const resolve = (port: string): tf.Tensor => local.get(port) ?? this.read(port)
        for (const plugin of split.batch) {
          const outputs = runPlugin(plugin, resolve, this.context())
          for (const [name, output] of Object.entries(outputs)) local.set(name, output)
        }
        return resolve(loss) as tf.Scalar
      },
      xs,
      undefined,
      true
    )
    value.dispose()
    const cutGradients = grads.slice(0, split.cut.length)
    const direct = readsWrtWhole ? grads[split.cut.length] : undefined

    // 3. Per micro-batch, ∂loss/∂(its rows of wrt) through the row-wise plugins.
    const pieces = micro.map((rows) =>
      tf.tidy(() => {
        const start = this.slice(wrt, at, rows)
        return tf.grad((x: tf.Tensor) => {
          const local = this.runRows(split.rows, rows, new Map([[wrt, x]]))
          const terms = split.cut.flatMap((port, index) => {
            const upstream = cutGradients[index]
            const output = local.get(port)
            return upstream == null || output === undefined ? [] : [tf.sum(tf.mul(output, this.slice(port, upstream, rows)))]
          })
          return terms.length === 0 ? tf.mul(tf.sum(x), 0) : tf.addN(terms)
        })(start)
      })
    )
    const assembled = this.assemble(wrt, pieces)
    tf.dispose([...pieces, ...whole.values(), ...cutGradients.filter((gradient): gradient is tf.Tensor => gradient != null)])
    if (direct == null) return assembled
    const total = tf.add(assembled, direct)
    tf.dispose([assembled, direct])
    return total
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
 * and the gradient of Σ λ_k·L_k for each trainable weight the losses reach. With
 * `options.microBatch` smaller than the batch, each stage runs over micro-batches (GradCache):
 * the same gradients, one micro-batch's activations in memory.
 */
export const runTrainingPass = (
  graph: Graph,
  inputs: Readonly<Record<string, tf.Tensor>>,
  clock: StepClock,
  warnOnce: WarnOnce,
  options: PassOptions = {}
): Pass => {
  const plan = planOf(graph)
  const state = new PassState(graph, plan, inputs, clock, warnOnce, true, options)
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
