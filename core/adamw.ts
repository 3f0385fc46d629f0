/**
 * AdamW (Loshchilov & Hutter), as torch.optim.AdamW computes it: weight decay applied to the
 * weight directly, then the bias-corrected Adam step. Its moments are variables, so a
 * checkpoint can hold them.
 */
import * as tf from "@tensorflow/tfjs"

export interface AdamWOptions {
  readonly learningRate: number
  readonly beta1: number
  readonly beta2: number
  readonly epsilon: number
  readonly weightDecay: number
}

export const DEFAULT_ADAMW: AdamWOptions = { learningRate: 2e-5, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01 }

interface Moments {
  readonly first: tf.Variable
  readonly second: tf.Variable
}

export class AdamW {
  private readonly moments = new Map<tf.Variable, Moments>()
  private stepsTaken = 0
  readonly options: AdamWOptions

  constructor(options: Partial<AdamWOptions> = {}) {
    this.options = { ...DEFAULT_ADAMW, ...options }
  }

  get steps(): number {
    return this.stepsTaken
  }

  /** One update of every variable that has a gradient; `learningRate` overrides the schedule-free default. */
  apply(gradients: ReadonlyMap<tf.Variable, tf.Tensor>, learningRate = this.options.learningRate): void {
    this.stepsTaken += 1
    const { beta1, beta2, epsilon, weightDecay } = this.options
    const stepSize = learningRate / (1 - beta1 ** this.stepsTaken)
    const secondCorrection = Math.sqrt(1 - beta2 ** this.stepsTaken)
    for (const [variable, gradient] of gradients) {
      const moments = this.momentsOf(variable)
      tf.tidy(() => {
        moments.first.assign(tf.add(tf.mul(moments.first, beta1), tf.mul(gradient, 1 - beta1)))
        moments.second.assign(tf.add(tf.mul(moments.second, beta2), tf.mul(tf.square(gradient), 1 - beta2)))
        const decayed = tf.mul(variable, 1 - learningRate * weightDecay)
        const denominator = tf.add(tf.div(tf.sqrt(moments.second), secondCorrection), epsilon)
        variable.assign(tf.sub(decayed, tf.mul(tf.div(moments.first, denominator), stepSize)))
      })
    }
  }

  /** Moments under the names the caller gives its variables, and the step count: for checkpoints. */
  exportState(names: ReadonlyMap<tf.Variable, string>): { readonly steps: number; readonly tensors: ReadonlyArray<readonly [string, tf.Tensor]> } {
    const tensors: Array<readonly [string, tf.Tensor]> = []
    for (const [variable, moments] of this.moments) {
      const name = names.get(variable)
      if (name === undefined) throw new Error("AdamW.exportState: a variable with moments has no name")
      tensors.push([`${name}.exp_avg`, moments.first], [`${name}.exp_avg_sq`, moments.second])
    }
    return { steps: this.stepsTaken, tensors }
  }

  /** The inverse of exportState; moments absent from `tensors` start at zero, as a fresh AdamW. */
  importState(state: { readonly steps: number; readonly tensors: ReadonlyMap<string, tf.Tensor> }, names: ReadonlyMap<tf.Variable, string>): void {
    this.dispose()
    this.stepsTaken = state.steps
    for (const [variable, name] of names) {
      const first = state.tensors.get(`${name}.exp_avg`)
      const second = state.tensors.get(`${name}.exp_avg_sq`)
      if (first === undefined || second === undefined) continue
      this.moments.set(variable, { first: tf.variable(first, false), second: tf.variable(second, false) })
    }
  }

  private momentsOf(variable: tf.Variable): Moments {
    const known = this.moments.get(variable)
    if (known !== undefined) return known
    // Inside tidy: the zeros the variables start from are released, the variables are not.
    const created = tf.tidy(() => ({
      first: tf.variable(tf.zerosLike(variable), false),
      second: tf.variable(tf.zerosLike(variable), false)
    }))
    this.moments.set(variable, created)
    return created
  }

  dispose(): void {
    for (const { first, second } of this.moments.values()) {
      first.dispose()
      second.dispose()
    }
    this.moments.clear()
  }
}
