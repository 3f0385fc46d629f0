/**
 * A seeded, serialisable random number generator (xoshiro128**, seeded through splitmix32).
 * Everything random in carl draws from one of these, so a run is reproduced by its seed and
 * resumed from the saved state.
 */
const splitmix32 = (seed: number): (() => number) => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x9e3779b9) >>> 0
    let z = state
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
}

const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0

export type RandomState = readonly [number, number, number, number]

export class SeededRandom {
  private s0: number
  private s1: number
  private s2: number
  private s3: number

  constructor(seed: number) {
    const next = splitmix32(seed)
    this.s0 = next()
    this.s1 = next()
    this.s2 = next()
    this.s3 = next()
  }

  static fromState(state: RandomState): SeededRandom {
    const random = new SeededRandom(0)
    random.restore(state)
    return random
  }

  state(): RandomState {
    return [this.s0, this.s1, this.s2, this.s3]
  }

  restore(state: RandomState): void {
    ;[this.s0, this.s1, this.s2, this.s3] = state.map((word) => word >>> 0) as [number, number, number, number]
  }

  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0
    const t = (this.s1 << 9) >>> 0
    this.s2 = (this.s2 ^ this.s0) >>> 0
    this.s3 = (this.s3 ^ this.s1) >>> 0
    this.s1 = (this.s1 ^ this.s2) >>> 0
    this.s0 = (this.s0 ^ this.s3) >>> 0
    this.s2 = (this.s2 ^ t) >>> 0
    this.s3 = rotl(this.s3, 11)
    return result
  }

  /** Uniform in [0, 1), 53 random bits. */
  next(): number {
    const high = this.nextUint32() >>> 5
    const low = this.nextUint32() >>> 6
    return (high * 67108864 + low) / 9007199254740992
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n)
  }

  /** Standard normal by Box–Muller, scaled. */
  normal(mean = 0, std = 1): number {
    const u = 1 - this.next()
    const v = this.next()
    return mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
  }

  normalArray(length: number, std: number): Float32Array {
    const out = new Float32Array(length)
    for (let i = 0; i < length; i++) out[i] = this.normal(0, std)
    return out
  }

  /** Fisher–Yates, in place. */
  shuffle<T>(items: Array<T>): Array<T> {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      const swap = items[i] as T
      items[i] = items[j] as T
      items[j] = swap
    }
    return items
  }

  /**
   * An independent generator for a named purpose, derived from this one's state without
   * advancing it: draws made by the fork do not shift anybody else's.
   */
  fork(label: string): SeededRandom {
    let hash = 0x811c9dc5
    for (const char of label) hash = Math.imul(hash ^ (char.codePointAt(0) ?? 0), 0x01000193) >>> 0
    const mixed = splitmix32((this.s0 ^ rotl(this.s1, 8) ^ rotl(this.s2, 16) ^ rotl(this.s3, 24) ^ hash) >>> 0)
    return new SeededRandom(mixed())
  }
}
