/** Correlation and error measures, in float64. */

export const mean = (xs: ArrayLike<number>): number => {
  let sum = 0
  for (let i = 0; i < xs.length; i++) sum += xs[i] ?? 0
  return xs.length === 0 ? Number.NaN : sum / xs.length
}

/** Pearson's r; NaN when either side is constant. */
export const pearson = (xs: ArrayLike<number>, ys: ArrayLike<number>): number => {
  if (xs.length !== ys.length) throw new Error(`pearson: ${xs.length} against ${ys.length} values`)
  const mx = mean(xs)
  const my = mean(ys)
  let sxy = 0
  let sxx = 0
  let syy = 0
  for (let i = 0; i < xs.length; i++) {
    const dx = (xs[i] ?? 0) - mx
    const dy = (ys[i] ?? 0) - my
    sxy += dx * dy
    sxx += dx * dx
    syy += dy * dy
  }
  return sxx === 0 || syy === 0 ? Number.NaN : sxy / Math.sqrt(sxx * syy)
}

/** Ranks from 1, ties sharing the mean of their ranks (as scipy.stats.rankdata's "average"). */
export const ranks = (xs: ArrayLike<number>): Float64Array => {
  const order = Array.from({ length: xs.length }, (_, i) => i).sort((a, b) => (xs[a] ?? 0) - (xs[b] ?? 0))
  const out = new Float64Array(xs.length)
  for (let start = 0; start < order.length; ) {
    let end = start
    while (end + 1 < order.length && xs[order[end + 1] ?? 0] === xs[order[start] ?? 0]) end++
    const rank = (start + end) / 2 + 1
    for (let k = start; k <= end; k++) out[order[k] ?? 0] = rank
    start = end + 1
  }
  return out
}

/** Spearman's ρ: Pearson's r of the ranks. */
export const spearman = (xs: ArrayLike<number>, ys: ArrayLike<number>): number => pearson(ranks(xs), ranks(ys))

export const meanAbsoluteError = (xs: ArrayLike<number>, ys: ArrayLike<number>): number => {
  if (xs.length !== ys.length) throw new Error(`meanAbsoluteError: ${xs.length} against ${ys.length} values`)
  let sum = 0
  for (let i = 0; i < xs.length; i++) sum += Math.abs((xs[i] ?? 0) - (ys[i] ?? 0))
  return sum / xs.length
}
