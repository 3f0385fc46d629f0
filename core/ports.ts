/**
 * Ports: the named, typed wires of a carl graph.
 *
 * A port says what flows on it (dtype, rank, what the axes mean) so that wiring can be checked
 * twice: by the TypeScript compiler for graphs written in code, and at run time for graphs
 * assembled from configuration.
 */
import type * as tf from "@tensorflow/tfjs"

export type TensorRank = 0 | 1 | 2 | 3

export type TensorOfRank<R extends TensorRank> = R extends 0
  ? tf.Scalar
  : R extends 1
    ? tf.Tensor1D
    : R extends 2
      ? tf.Tensor2D
      : tf.Tensor3D

export type PortDtype = "float32" | "int32"

export interface Port<Name extends string = string, R extends TensorRank = TensorRank> {
  readonly name: Name
  readonly rank: R
  readonly dtype: PortDtype
  /** The axes and meaning, for error messages and docs: "[batch, seq, hidden] input word embeddings". */
  readonly doc: string
  /**
   * A constant port never carries a gradient (masks, selections, perturbations): the value is
   * treated as data by everything downstream, like PyTorch's `.detach()`.
   */
  readonly constant: boolean
  /**
   * Axis 1 is the token axis ([batch, seq, ...]): a micro-batch keeps only its own rows' length of
   * it (core/micro-batch.ts), and values at the positions it cut are zeros.
   */
  readonly perToken?: boolean
  /** Set on gradient ports: the value is ∂(of)/∂(wrt). */
  readonly gradient?: { readonly of: LossPortName; readonly wrt: string }
}

export type AnyPort = Port<string, TensorRank>

export type PortValue<P> = P extends Port<string, infer R> ? TensorOfRank<R> : never

/** A record from port name to the tensor type that flows on it. */
export type PortMap = { readonly [name: string]: tf.Tensor }

/** Turns a tuple of ports into the record of values a plugin reads or writes. */
export type PortsToMap<Ps extends ReadonlyArray<AnyPort>> = {
  [P in Ps[number] as P["name"]]: PortValue<P>
}

export type LossPortName = `loss.${string}`

export type GradientPortName<L extends string, X extends string> = `∂${L}/∂${X}`

export const definePort = <const Name extends string, R extends TensorRank>(
  name: Name,
  rank: R,
  dtype: PortDtype,
  doc: string,
  options: { readonly constant?: boolean; readonly perToken?: boolean } = {}
): Port<Name, R> => ({ name, rank, dtype, doc, constant: options.constant ?? false, ...(options.perToken === true ? { perToken: true } : {}) })

/** A loss is a scalar port named `loss.<name>`; the objective plugin weights and sums them. */
export const lossPort = <const Name extends string>(name: Name, doc: string): Port<`loss.${Name}`, 0> =>
  definePort(`loss.${name}` as const, 0, "float32", doc)

export const isLossPortName = (name: string): name is LossPortName => name.startsWith("loss.")

/**
 * The gradient of a loss with respect to an upstream port, as a port of its own. A plugin that
 * needs one runs after the backward pass of the stage that computed the loss (see core/executor.ts).
 */
export const gradientPort = <L extends LossPortName, X extends string, R extends TensorRank>(
  loss: Port<L, 0>,
  wrt: Port<X, R>
): Port<GradientPortName<L, X>, R> => ({
  name: `∂${loss.name}/∂${wrt.name}` as GradientPortName<L, X>,
  rank: wrt.rank,
  dtype: "float32",
  doc: `gradient of ${loss.name} with respect to ${wrt.name}, ${wrt.doc}`,
  constant: true,
  ...(wrt.perToken === true ? { perToken: true } : {}),
  gradient: { of: loss.name, wrt: wrt.name }
})

export const describePort = (port: AnyPort): string => `${port.dtype} rank ${port.rank}: ${port.doc}`
