/**
 * Weight initialisation from carl's seeded generator, in plain JS so that a seed gives the same
 * weights on every backend (BERT's scheme: N(0, 0.02) weights, zero biases, unit LayerNorm).
 */
import * as tf from "@tensorflow/tfjs"
import type { SeededRandom } from "./random.ts"

export const INIT_STD = 0.02

export const normalWeight = (random: SeededRandom, shape: ReadonlyArray<number>, std = INIT_STD): tf.Tensor =>
  tf.tensor(random.normalArray(shape.reduce((a, b) => a * b, 1), std), [...shape])

export const zerosWeight = (shape: ReadonlyArray<number>): tf.Tensor => tf.zeros([...shape])

export const onesWeight = (shape: ReadonlyArray<number>): tf.Tensor => tf.ones([...shape])

/** Weights of a dense layer, tfjs layout [in, out], under `<name>.weight` and `<name>.bias`. */
export const denseWeights = (
  random: SeededRandom,
  name: string,
  inFeatures: number,
  outFeatures: number
): Array<readonly [string, tf.Tensor]> => [
  [`${name}.weight`, normalWeight(random, [inFeatures, outFeatures])],
  [`${name}.bias`, zerosWeight([outFeatures])]
]

export const layerNormWeights = (name: string, features: number): Array<readonly [string, tf.Tensor]> => [
  [`${name}.weight`, onesWeight([features])],
  [`${name}.bias`, zerosWeight([features])]
]
