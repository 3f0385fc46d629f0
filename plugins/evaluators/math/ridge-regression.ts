/**
 * Ridge regression in float64: w = argmin ‖Xw + b − y‖² + λ‖w‖², the intercept unpenalised
 * (features and targets are centred first). Solved by Cholesky on the d×d normal equations,
 * which for sentence embeddings (d ≤ 1024) is exact and fast.
 */
export interface RidgeModel {
  readonly weights: Float64Array
  readonly intercept: number
}

/** rows: n vectors of length d. */
export const fitRidge = (rows: ReadonlyArray<ArrayLike<number>>, targets: ArrayLike<number>, lambda: number): RidgeModel => {
  const [model] = fitRidgePath(rows, targets, [lambda])
  if (model === undefined) throw new Error("fitRidge: no model")
  return model
}

/** One model per λ; the normal equations are formed once. */
export const fitRidgePath = (
  rows: ReadonlyArray<ArrayLike<number>>,
  targets: ArrayLike<number>,
  lambdas: ReadonlyArray<number>
): Array<RidgeModel> => fitRidgePaths(rows, [targets], lambdas)[0] ?? []

/**
 * One path per target on the same rows: XcᵀXc, the costly part (n·d²/2), is formed once for all
 * of them; each target adds only its Xcᵀyc. Each path equals fitRidgePath's for that target.
 */
export const fitRidgePaths = (
  rows: ReadonlyArray<ArrayLike<number>>,
  targets: ReadonlyArray<ArrayLike<number>>,
  lambdas: ReadonlyArray<number>
): Array<Array<RidgeModel>> => {
  const n = rows.length
  const d = rows[0]?.length ?? 0
  for (const target of targets) if (n === 0 || target.length !== n) throw new Error(`fitRidge: ${n} rows against ${target.length} targets`)
  const featureMean = new Float64Array(d)
  for (const row of rows) for (let j = 0; j < d; j++) featureMean[j] = (featureMean[j] ?? 0) + (row[j] ?? 0) / n
  const targetMeans = targets.map((target) => {
    let mean = 0
    for (let i = 0; i < n; i++) mean += (target[i] ?? 0) / n
    return mean
  })
  // A = XcᵀXc + λI, c_t = Xcᵀyc_t
  const a = new Float64Array(d * d)
  const cs = targets.map(() => new Float64Array(d))
  const centred = new Float64Array(d)
  for (const [i, row] of rows.entries()) {
    for (let j = 0; j < d; j++) centred[j] = (row[j] ?? 0) - (featureMean[j] ?? 0)
    targets.forEach((target, t) => {
      const y = (target[i] ?? 0) - (targetMeans[t] ?? 0)
      const c = cs[t] as Float64Array
      for (let j = 0; j < d; j++) c[j] = (c[j] ?? 0) + (centred[j] ?? 0) * y
    })
    for (let j = 0; j < d; j++) {
      const xj = centred[j] ?? 0
      for (let k = 0; k <= j; k++) a[j * d + k] = (a[j * d + k] ?? 0) + xj * (centred[k] ?? 0)
    }
  }
  return cs.map((c, t) => solvePath({ a, c, d, featureMean, targetMean: targetMeans[t] ?? 0 }, lambdas))
}

/**
 * Sufficient statistics of a ridge fit — n, Σx, Σxxᵀ (lower triangle), and Σy, Σxy per target —
 * which add over disjoint row sets: a k-fold cross-validation forms each fold's once and fits on
 * any union of folds without passing over the rows again.
 */
export interface RidgeMoments {
  readonly n: number
  readonly d: number
  readonly sumX: Float64Array
  readonly sumXX: Float64Array
  readonly sumY: ReadonlyArray<number>
  readonly sumXY: ReadonlyArray<Float64Array>
}

export const ridgeMoments = (rows: ReadonlyArray<ArrayLike<number>>, targets: ReadonlyArray<ArrayLike<number>>, d = rows[0]?.length ?? 0): RidgeMoments => {
  for (const target of targets) if (target.length !== rows.length) throw new Error(`ridgeMoments: ${rows.length} rows against ${target.length} targets`)
  const sumX = new Float64Array(d)
  const sumXX = new Float64Array(d * d)
  const sumY = targets.map(() => 0)
  const sumXY = targets.map(() => new Float64Array(d))
  for (const [i, row] of rows.entries()) {
    for (let j = 0; j < d; j++) {
      const xj = row[j] ?? 0
      sumX[j] = (sumX[j] ?? 0) + xj
      for (let k = 0; k <= j; k++) sumXX[j * d + k] = (sumXX[j * d + k] ?? 0) + xj * (row[k] ?? 0)
    }
    targets.forEach((target, t) => {
      const y = target[i] ?? 0
      sumY[t] = (sumY[t] ?? 0) + y
      const xy = sumXY[t] as Float64Array
      for (let j = 0; j < d; j++) xy[j] = (xy[j] ?? 0) + (row[j] ?? 0) * y
    })
  }
  return { n: rows.length, d, sumX, sumXX, sumY, sumXY }
}

export const addMoments = (parts: ReadonlyArray<RidgeMoments>): RidgeMoments => {
  const [first] = parts
  if (first === undefined) throw new Error("addMoments: nothing to add")
  const d = first.d
  const sumX = new Float64Array(d)
  const sumXX = new Float64Array(d * d)
  const sumY = first.sumY.map(() => 0)
  const sumXY = first.sumXY.map(() => new Float64Array(d))
  let n = 0
  for (const part of parts) {
    n += part.n
    for (let j = 0; j < d; j++) sumX[j] = (sumX[j] ?? 0) + (part.sumX[j] ?? 0)
    for (let j = 0; j < d * d; j++) sumXX[j] = (sumXX[j] ?? 0) + (part.sumXX[j] ?? 0)
    part.sumY.forEach((value, t) => {
      sumY[t] = (sumY[t] ?? 0) + value
      const into = sumXY[t] as Float64Array
      const from = part.sumXY[t] as Float64Array
      for (let j = 0; j < d; j++) into[j] = (into[j] ?? 0) + (from[j] ?? 0)
    })
  }
  return { n, d, sumX, sumXX, sumY, sumXY }
}

/**
 * One model per λ for target `t` of `moments`: the same solution fitRidgePath gives on those rows
 * (centring done on the sums: XcᵀXc = Σxxᵀ − n·μμᵀ, Xcᵀyc = Σxy − n·μ·ȳ).
 */
export const fitRidgeFromMoments = (moments: RidgeMoments, t: number, lambdas: ReadonlyArray<number>): Array<RidgeModel> => {
  const { n, d } = moments
  if (n === 0) throw new Error("fitRidge: no rows")
  const mean = Float64Array.from(moments.sumX, (value) => value / n)
  const targetMean = (moments.sumY[t] ?? 0) / n
  const xy = moments.sumXY[t] as Float64Array
  const a = new Float64Array(d * d)
  for (let j = 0; j < d; j++) for (let k = 0; k <= j; k++) a[j * d + k] = (moments.sumXX[j * d + k] ?? 0) - n * (mean[j] ?? 0) * (mean[k] ?? 0)
  const c = Float64Array.from(xy, (value, j) => value - n * (mean[j] ?? 0) * targetMean)
  return solvePath({ a, c, d, featureMean: mean, targetMean }, lambdas)
}

/**
 * One model per λ from the centred normal equations (A = XcᵀXc, lower triangle; c = Xcᵀyc): w solves
 * (A + λI)w = c, and the intercept puts the means back.
 */
const solvePath = (
  centred: { readonly a: Float64Array; readonly c: Float64Array; readonly d: number; readonly featureMean: Float64Array; readonly targetMean: number },
  lambdas: ReadonlyArray<number>
): Array<RidgeModel> => {
  const { a, c, d, featureMean, targetMean } = centred
  return lambdas.map((lambda) => {
    const regularised = a.slice()
    for (let j = 0; j < d; j++) regularised[j * d + j] = (regularised[j * d + j] ?? 0) + lambda
    const weights = solveSymmetricPositive(regularised, c, d)
    let intercept = targetMean
    for (let j = 0; j < d; j++) intercept -= (weights[j] ?? 0) * (featureMean[j] ?? 0)
    return { weights, intercept }
  })
}

export const predictRidge = (model: RidgeModel, rows: ReadonlyArray<ArrayLike<number>>): Float64Array =>
  Float64Array.from(rows, (row) => {
    let sum = model.intercept
    for (let j = 0; j < model.weights.length; j++) sum += (model.weights[j] ?? 0) * (row[j] ?? 0)
    return sum
  })

/** Solves A·x = b for symmetric positive-definite A (lower triangle used), by Cholesky. */
const solveSymmetricPositive = (a: Float64Array, b: Float64Array, d: number): Float64Array => {
  const l = new Float64Array(d * d)
  for (let j = 0; j < d; j++) {
    let diagonal = a[j * d + j] ?? 0
    for (let k = 0; k < j; k++) diagonal -= (l[j * d + k] ?? 0) ** 2
    if (!(diagonal > 0)) throw new Error("fitRidge: the normal equations are not positive definite (raise λ)")
    const root = Math.sqrt(diagonal)
    l[j * d + j] = root
    for (let i = j + 1; i < d; i++) {
      let sum = a[i * d + j] ?? 0
      for (let k = 0; k < j; k++) sum -= (l[i * d + k] ?? 0) * (l[j * d + k] ?? 0)
      l[i * d + j] = sum / root
    }
  }
  const y = new Float64Array(d)
  for (let i = 0; i < d; i++) {
    let sum = b[i] ?? 0
    for (let k = 0; k < i; k++) sum -= (l[i * d + k] ?? 0) * (y[k] ?? 0)
    y[i] = sum / (l[i * d + i] ?? 1)
  }
  const x = new Float64Array(d)
  for (let i = d - 1; i >= 0; i--) {
    let sum = y[i] ?? 0
    for (let k = i + 1; k < d; k++) sum -= (l[k * d + i] ?? 0) * (x[k] ?? 0)
    x[i] = sum / (l[i * d + i] ?? 1)
  }
  return x
}
