/**
 * The paper's schedule (Sec. IV-A): a linear warmup over the first 10% of the steps, then cosine
 * annealing with warm restarts (SGDR, Loshchilov & Hutter 2017):
 *   lr(t) = lr_min + (lr_max − lr_min)·(1 + cos(π·t_cur/T))/2.
 * The paper gives no cycle length; carl restarts at every epoch boundary (PyTorch's
 * CosineAnnealingWarmRestarts stepped per batch with T_0 = one epoch): epoch k's cycle is its own
 * steps, the first one starting after the warmup, the last one ending with the run (a run that stops
 * mid-epoch anneals over what is left). Each cycle ends at its last step near lr_min, so the run
 * ends annealed.
 */
export interface LearningRateSchedule {
  readonly peak: number
  readonly minimum: number
  readonly warmupSteps: number
  /** A cycle per epoch: restarts at multiples of this. */
  readonly cycleSteps: number
  readonly totalSteps: number
}

/** The learning rate for optimiser step `step` (0-based: the rate used by the step about to run). */
export const learningRateAt = (schedule: LearningRateSchedule, step: number): number => {
  const { peak, minimum, warmupSteps, cycleSteps, totalSteps } = schedule
  if (step < warmupSteps) return (peak * (step + 1)) / warmupSteps
  const cycle = Math.max(1, cycleSteps)
  const cycleStart = Math.floor(step / cycle) * cycle
  const start = Math.max(cycleStart, warmupSteps)
  const end = Math.min(cycleStart + cycle, Math.max(totalSteps, step + 1))
  const length = Math.max(1, end - start)
  return minimum + ((peak - minimum) * (1 + Math.cos((Math.PI * (step - start)) / length))) / 2
}

export const carlSchedule = (options: {
  readonly peak: number
  readonly totalSteps: number
  readonly warmupRatio: number
  readonly stepsPerEpoch: number
}): LearningRateSchedule => {
  const cycleSteps = Math.max(1, Math.min(options.stepsPerEpoch, options.totalSteps))
  // The warmup stays inside the first cycle, so that cycle still has a step of cosine.
  const warmupSteps = Math.min(Math.round(options.totalSteps * options.warmupRatio), cycleSteps - 1)
  return { peak: options.peak, minimum: 0, warmupSteps: Math.max(0, warmupSteps), cycleSteps, totalSteps: options.totalSteps }
}
