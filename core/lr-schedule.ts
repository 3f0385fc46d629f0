/**
 * The paper's schedule (Sec. IV-A): a linear warmup over the first 10% of the steps, then
 * cosine annealing with warm restarts (SGDR, Loshchilov & Hutter 2017):
 *   lr(t) = lr_min + (lr_max − lr_min)·(1 + cos(π·t_cur/T))/2,
 * restarting every `cycleSteps` steps after the warmup. The paper gives no cycle length; carl
 * restarts once per epoch (PyTorch's CosineAnnealingWarmRestarts with T_0 = one epoch, T_mult = 1).
 */
export interface LearningRateSchedule {
  readonly peak: number
  readonly minimum: number
  readonly warmupSteps: number
  readonly cycleSteps: number
}

/** The learning rate for optimiser step `step` (0-based: the rate used by the step about to run). */
export const learningRateAt = (schedule: LearningRateSchedule, step: number): number => {
  const { peak, minimum, warmupSteps, cycleSteps } = schedule
  if (step < warmupSteps) return (peak * (step + 1)) / warmupSteps
  const inCycle = (step - warmupSteps) % Math.max(1, cycleSteps)
  return minimum + ((peak - minimum) * (1 + Math.cos((Math.PI * inCycle) / Math.max(1, cycleSteps)))) / 2
}

export const carlSchedule = (options: {
  readonly peak: number
  readonly totalSteps: number
  readonly warmupRatio: number
  readonly stepsPerEpoch: number
}): LearningRateSchedule => {
  const warmupSteps = Math.round(options.totalSteps * options.warmupRatio)
  return {
    peak: options.peak,
    minimum: 0,
    warmupSteps,
    cycleSteps: Math.max(1, Math.min(options.stepsPerEpoch, options.totalSteps - warmupSteps))
  }
}
