/**
 * Progress of a run: one redrawn line on a terminal, plain lines otherwise (logs, CI), or none.
 */
export type ProgressMode = "bar" | "lines" | "off"

export const progressMode = (requested: boolean | undefined): ProgressMode =>
  requested === false ? "off" : process.stdout.isTTY ? "bar" : "lines"

export interface ProgressLine {
  readonly step: number
  readonly totalSteps: number
  readonly epoch: number
  readonly objective: number
  readonly learningRate: number
  readonly tokensPerSecond: number
  readonly secondsLeft: number
}

const clock = (seconds: number) => {
  const s = Math.max(0, Math.round(seconds))
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`
}

export const formatProgress = (line: ProgressLine): string =>
  `step ${line.step}/${line.totalSteps} (epoch ${line.epoch + 1}) loss ${line.objective.toFixed(4)} ` +
  `lr ${line.learningRate.toExponential(2)} ${Math.round(line.tokensPerSecond)} tok/s eta ${clock(line.secondsLeft)}`

export class Progress {
  private lastLinesStep = 0

  constructor(
    private readonly mode: ProgressMode,
    private readonly totalSteps: number
  ) {}

  update(line: ProgressLine): void {
    if (this.mode === "bar") {
      const width = 24
      const filled = Math.round((width * line.step) / line.totalSteps)
      process.stdout.write(`\r[${"#".repeat(filled)}${".".repeat(width - filled)}] ${formatProgress(line)}\x1b[K`)
      if (line.step === line.totalSteps) process.stdout.write("\n")
    } else if (this.mode === "lines") {
      const every = Math.max(1, Math.floor(this.totalSteps / 20))
      if (line.step === 1 || line.step === this.totalSteps || line.step - this.lastLinesStep >= every) {
        this.lastLinesStep = line.step
        process.stdout.write(`${formatProgress(line)}\n`)
      }
    }
  }

  /** Clears the bar's line, before something is written to stderr on the same terminal. */
  clear(): void {
    if (this.mode === "bar") process.stdout.write("\r\x1b[K")
  }

  /** A message that must not be drawn over by the bar. */
  say(message: string): void {
    if (this.mode === "bar") process.stdout.write("\r\x1b[K")
    process.stdout.write(`${message}\n`)
  }
}
