/**
 * AdamW (Loshchilov & Hutter), as torch.optim.AdamW computes it: weight decay applied to the
 * weight directly, then the bias-corrected Adam step. A checkpoint holds its moments.
 *
 * Where the backend updates weights in place (core/backend-extras.ts: the native backends) the
 * moments live in host memory, off the backend's heap: for BERT-base they are 880 MB that the
 * 4 GiB wasm heap cannot spare. Elsewhere they are tfjs variables. Both compute the same float32
 * values, step for step.
 */
import * as tf from "@tensorflow/tfjs"
import { fusedUpdates } from "./backend-extras.ts"
import type { FloatTensorData } from "./safetensors.ts"

export interface AdamWOptions {
  readonly learningRate: number
  readonly beta1: number
  readonly beta2: number
  readonly epsilon: number
  readonly weightDecay: number
}

/** torch.optim.AdamW's own defaults; carl's training passes its configuration's (the paper's lr 2e-5). */
export const DEFAULT_ADAMW: AdamWOptions = { learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01 }

type Moments =
  | { readonly kind: "tensors"; readonly first: tf.Variable; readonly second: tf.Variable }
  | { readonly kind: "host"; readonly first: Float32Array; readonly second: Float32Array }

const hostValues = (values: tf.TypedArray | ReadonlyArray<number>): Float32Array => Float32Array.from(values)

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
    const decay = 1 - learningRate * weightDecay
    const fused = fusedUpdates()
    for (const [variable, gradient] of gradients) {
      const moments = this.momentsOf(variable, fused !== undefined)
      if (moments.kind === "host" && fused !== undefined) {
        fused.adamw(variable, gradient, moments.first, moments.second, { beta1, beta2, epsilon, decay, secondCorrection, stepSize })
        continue
      }
      const [first, second] = this.momentTensors(variable, moments)
      tf.tidy(() => {
        first.assign(tf.add(tf.mul(first, beta1), tf.mul(gradient, 1 - beta1)))
        second.assign(tf.add(tf.mul(second, beta2), tf.mul(tf.square(gradient), 1 - beta2)))
        const decayed = tf.mul(variable, decay)
        const denominator = tf.add(tf.div(tf.sqrt(second), secondCorrection), epsilon)
        variable.assign(tf.sub(decayed, tf.mul(tf.div(first, denominator), stepSize)))
      })
    }
  }

  /** Moments under the names the caller gives its variables, and the step count: for checkpoints. */
  exportState(names: ReadonlyMap<tf.Variable, string>): { readonly steps: number; readonly tensors: ReadonlyArray<readonly [string, FloatTensorData]> } {
    const tensors: Array<readonly [string, FloatTensorData]> = []
    for (const [variable, moments] of this.moments) {
      const name = names.get(variable)
      if (name === undefined) throw new Error("AdamW.exportState: a variable with moments has no name")
      const shape = variable.shape
      const first = moments.kind === "host" ? moments.first : (moments.first.dataSync() as Float32Array)
      const second = moments.kind === "host" ? moments.second : (moments.second.dataSync() as Float32Array)
      tensors.push([`${name}.exp_avg`, { shape, values: first }], [`${name}.exp_avg_sq`, { shape, values: second }])
    }
    return { steps: this.stepsTaken, tensors }
  }

  /** The inverse of exportState; moments absent from `tensors` start at zero, as a fresh AdamW. */
  importState(state: { readonly steps: number; readonly tensors: ReadonlyMap<string, FloatTensorData> }, names: ReadonlyMap<tf.Variable, string>): void {
    this.dispose()
    this.stepsTaken = state.steps
    const host = fusedUpdates() !== undefined
    for (const [variable, name] of names) {
      const first = state.tensors.get(`${name}.exp_avg`)
      const second = state.tensors.get(`${name}.exp_avg_sq`)
      if (first === undefined || second === undefined) continue
      this.moments.set(
        variable,
        host
          ? { kind: "host", first: hostValues(first.values), second: hostValues(second.values) }
          : {
              kind: "tensors",
              first: tf.tidy(() => tf.variable(tf.tensor(first.values, [...first.shape]), false)),
              second: tf.tidy(() => tf.variable(tf.tensor(second.values, [...second.shape]), false))
            }
      )
    }
  }

  private momentsOf(variable: tf.Variable, host: boolean): Moments {
    const known = this.moments.get(variable)
    if (known !== undefined) return known
    const created: Moments = host
      ? { kind: "host", first: new Float32Array(variable.size), second: new Float32Array(variable.size) }
      : // Inside tidy: the zeros the variables start from are released, the variables are not.
        tf.tidy(() => ({ kind: "tensors" as const, first: tf.variable(tf.zerosLike(variable), false), second: tf.variable(tf.zerosLike(variable), false) }))
    this.moments.set(variable, created)
    return created
  }

  /** Tensor moments to step with tfjs ops; host moments (the backend changed under them) become tensors. */
  private momentTensors(variable: tf.Variable, moments: Moments): readonly [tf.Variable, tf.Variable] {
    if (moments.kind === "tensors") return [moments.first, moments.second]
    const converted = tf.tidy(() => ({
      kind: "tensors" as const,
      first: tf.variable(tf.tensor(moments.first, variable.shape), false),
      second: tf.variable(tf.tensor(moments.second, variable.shape), false)
    }))
    this.moments.set(variable, converted)
    return [converted.first, converted.second]
  }

  dispose(): void {
    for (const moments of this.moments.values()) {
      if (moments.kind === "tensors") {
        moments.first.dispose()
        moments.second.dispose()
      }
    }
    this.moments.clear()
  }
}
