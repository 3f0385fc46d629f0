/**
 * Named parameter sets: the weights a plugin owns, keyed by the names they have in the
 * checkpoints they come from (Hugging Face names for encoders), in tfjs layout.
 */
import * as tf from "@tensorflow/tfjs"

export class ParameterSet {
  private constructor(
    private readonly variables: ReadonlyMap<string, tf.Variable>,
    readonly trainable: boolean
  ) {}

  static fromTensors(tensors: Iterable<readonly [string, tf.Tensor]>, options: { trainable: boolean }): ParameterSet {
    const variables = new Map<string, tf.Variable>()
    for (const [name, value] of tensors) {
      if (variables.has(name)) throw new Error(`parameter ${name} defined twice`)
      variables.set(name, tf.variable(value, options.trainable))
    }
    return new ParameterSet(variables, options.trainable)
  }

  get(name: string): tf.Variable {
    const variable = this.variables.get(name)
    if (variable === undefined) throw new Error(`no parameter named ${name}`)
    return variable
  }

  has(name: string): boolean {
    return this.variables.has(name)
  }

  names(): ReadonlyArray<string> {
    return [...this.variables.keys()]
  }

  entries(): ReadonlyArray<readonly [string, tf.Variable]> {
    return [...this.variables.entries()]
  }

  /** The sub-set whose names start with `prefix.`, with the prefix removed. */
  scoped(prefix: string): ParameterSet {
    const inner = new Map<string, tf.Variable>()
    for (const [name, variable] of this.variables) {
      if (name.startsWith(`${prefix}.`)) inner.set(name.slice(prefix.length + 1), variable)
    }
    return new ParameterSet(inner, this.trainable)
  }

  /** A deep copy with its own variables: how BYOL makes the target network from the online one. */
  copy(options: { trainable: boolean }): ParameterSet {
    return ParameterSet.fromTensors(
      this.entries().map(([name, variable]) => [name, variable] as const),
      options
    )
  }

  count(): number {
    let total = 0
    for (const variable of this.variables.values()) total += variable.size
    return total
  }

  dispose(): void {
    for (const variable of this.variables.values()) variable.dispose()
  }
}
