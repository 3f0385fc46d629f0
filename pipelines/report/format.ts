/**
 * Number and date text for the report. Locale-free on purpose: the same results file renders the
 * same bytes on every machine, which the determinism test relies on.
 */

/** Fixed decimals without "-0.00": a value that rounds to zero has no sign. */
export const fixed =
  (decimals: number) =>
  (value: number): string => {
    const text = value.toFixed(decimals)
    return Number(text) === 0 ? (0).toFixed(decimals) : text
  }

/** A fraction as a percentage with two decimals, as the paper's accuracy columns. */
export const percent = (value: number): string => fixed(2)(value * 100)

export const grouped = (value: number): string => {
  const [whole = "", fraction] = String(value).split(".")
  const digits = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",")
  return fraction === undefined ? digits : `${digits}.${fraction}`
}

export const duration = (seconds: number): string => {
  if (seconds < 60) return `${seconds.toFixed(1)} s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes} min ${Math.round(seconds - minutes * 60)} s`
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`
}

/** "2025-11-28 14:05 UTC", or the text as written when it is not a date. */
export const runDate = (iso: string): string => {
  const time = Date.parse(iso)
  if (Number.isNaN(time)) return iso
  const text = new Date(time).toISOString()
  return `${text.slice(0, 10)} ${text.slice(11, 16)} UTC`
}

export const shortHash = (sha256: string): string => (sha256.length > 12 ? `${sha256.slice(0, 12)}…` : sha256)

export interface Ticks {
  readonly min: number
  readonly max: number
  readonly values: ReadonlyArray<number>
  readonly format: (value: number) => string
}

const niceStep = (rough: number): number => {
  const power = 10 ** Math.floor(Math.log10(rough))
  const fraction = rough / power
  return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 2.5 ? 2.5 : fraction <= 5 ? 5 : 10) * power
}

/** Round-numbered ticks covering [min, max]; the axis is widened to the outer ticks. */
export const niceTicks = (min: number, max: number, target = 5): Ticks => {
  const span = max - min
  const [low, high] = span > 0 ? [min, max] : [min - (Math.abs(min) || 1) * 0.1, max + (Math.abs(max) || 1) * 0.1]
  const step = niceStep((high - low) / Math.max(1, target - 1))
  const first = Math.floor(low / step) * step
  const last = Math.ceil(high / step) * step
  const count = Math.round((last - first) / step)
  const values = Array.from({ length: count + 1 }, (_, i) => first + i * step)
  let decimals = 0
  while (decimals < 6 && Math.abs(Math.round(step * 10 ** decimals) - step * 10 ** decimals) > 1e-6) decimals++
  return { min: first, max: last, values, format: fixed(decimals) }
}

export const linear =
  (domain: readonly [number, number], range: readonly [number, number]) =>
  (value: number): number =>
    range[0] + ((value - domain[0]) / (domain[1] - domain[0] || 1)) * (range[1] - range[0])

/** SVG coordinates to two decimals: enough for print, and stable text. */
export const coord = (value: number): string => fixed(2)(value)
