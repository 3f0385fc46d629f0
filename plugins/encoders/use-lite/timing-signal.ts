/**
 * The fixed sinusoid added once before layer 0 (tensor2tensor's add_timing_signal_1d with
 * min_timescale 1, max_timescale 1e4): T[j] = [sin(j·inv) ‖ cos(j·inv)], sines in the first half,
 * inv[i] = exp(−i·ln(1e4)/(half − 1)). The shipped graph stores inv as a constant
 * (…/AddTimingSignal/TimingSignal/ExpandDims_1); this formula matches it to 3e-8 (tested).
 */
import * as tf from "@tensorflow/tfjs"

const MAX_TIMESCALE = 1e4

/** inv[i], rounded to float32 as the graph holds it. */
export const timingFrequencies = (channels: number): Float32Array => {
  const half = channels / 2
  const increment = Math.log(MAX_TIMESCALE) / Math.max(half - 1, 1)
  return Float32Array.from({ length: half }, (_, i) => Math.exp(-i * increment))
}

const tables = new Map<number, Float32Array>()

/** [length, channels] as float32, each product j·inv[i] rounded to float32 before sin/cos, as the graph's Mul does. */
const timingTable = (length: number, channels: number): Float32Array => {
  const cached = tables.get(channels)
  if (cached !== undefined && cached.length >= length * channels) return cached.subarray(0, length * channels)
  const inv = timingFrequencies(channels)
  const half = channels / 2
  const rows = Math.max(length, 128)
  const table = new Float32Array(rows * channels)
  for (let j = 0; j < rows; j++) {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(j * (inv[i] ?? 0))
      table[j * channels + i] = Math.sin(angle)
      table[j * channels + half + i] = Math.cos(angle)
    }
  }
  tables.set(channels, table)
  return table.subarray(0, length * channels)
}

/** [length, channels] timing signal for positions 0 … length − 1. */
export const timingSignal = (length: number, channels: number): tf.Tensor2D =>
  tf.tensor2d(timingTable(length, channels), [length, channels], "float32")
