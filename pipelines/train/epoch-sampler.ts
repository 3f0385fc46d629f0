/**
 * Batches of example indices, reshuffled every epoch by the run's seeded generator. Its position
 * (epoch, batch, the epoch's order, the generator's state) is part of every checkpoint, so a
 * resumed run sees exactly the batches an uninterrupted one would.
 */
import { SeededRandom, type RandomState } from "../../core/random.ts"

export interface SamplerPosition {
  readonly epoch: number
  readonly batchInEpoch: number
  readonly order: ReadonlyArray<number>
  readonly random: RandomState
}

export class EpochSampler {
  private epoch: number
  private batchInEpoch: number
  private order: Array<number>
  private readonly random: SeededRandom

  /** The last partial batch of an epoch is dropped, unless the data is smaller than one batch. */
  readonly batchesPerEpoch: number

  constructor(
    private readonly size: number,
    private readonly batchSize: number,
    seed: number,
    position?: SamplerPosition
  ) {
    this.batchesPerEpoch = Math.max(1, Math.floor(size / batchSize))
    if (position === undefined) {
      this.random = new SeededRandom(seed)
      this.epoch = 0
      this.batchInEpoch = 0
      this.order = this.shuffled()
    } else {
      this.random = SeededRandom.fromState(position.random)
      this.epoch = position.epoch
      this.batchInEpoch = position.batchInEpoch
      this.order = [...position.order]
    }
  }

  private shuffled(): Array<number> {
    return this.random.shuffle(Array.from({ length: this.size }, (_, i) => i))
  }

  next(): { readonly indices: ReadonlyArray<number>; readonly epoch: number } {
    if (this.batchInEpoch >= this.batchesPerEpoch) {
      this.epoch += 1
      this.batchInEpoch = 0
      this.order = this.shuffled()
    }
    const start = this.batchInEpoch * this.batchSize
    const indices = this.order.slice(start, Math.min(start + this.batchSize, this.size))
    this.batchInEpoch += 1
    return { indices, epoch: this.epoch }
  }

  position(): SamplerPosition {
    return { epoch: this.epoch, batchInEpoch: this.batchInEpoch, order: [...this.order], random: this.random.state() }
  }
}
