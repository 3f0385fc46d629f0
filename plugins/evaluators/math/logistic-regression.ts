/**
 * Multinomial logistic regression in float64, as SentEval's linear probes use it: features
 * standardised on the training rows, then
 *
 *   J(W, b) = (1/n) Σᵢ −log softmax(W xᵢ + b)_{yᵢ} + (λ/2)‖W‖²_F      (the bias unpenalised)
 *
 * minimised by full-batch L-BFGS. J is convex; its minimiser in W is unique for λ > 0, and b is
 * kept in the gauge Σₖ bₖ = 0 (softmax ignores a constant added to every bias; every gradient
 * step preserves that sum, so starting from b = 0 keeps it).
 *
 * Two classes are fitted as one logistic model with weight w = W₁ − W₀ and penalty (λ/4)‖w‖²:
 * at the optimum W₀ = −W₁ (the class gradients sum to zero, so Σₖ λWₖ = 0), which makes the two
 * objectives the same function of w and halves the work.
 */

import { defaultProducts, type DesignProducts } from "./design-products.ts"

export interface Standardiser {
  readonly mean: Float64Array
  /** 1/σ per feature (σ the population standard deviation); 1 for a constant feature. */
  readonly scale: Float64Array
}

export interface LogisticModel {
  readonly classes: number
  readonly dims: number
  readonly standardiser: Standardiser
  /** Row-major [classes, dims], acting on standardised features. */
  readonly weights: Float64Array
  /** Σₖ bₖ = 0. */
  readonly bias: Float64Array
  readonly lambda: number
  /** L-BFGS iterations (accepted steps) this fit took, warm start or not. */
  readonly iterations: number
  /** Whether a stopping test was met before `maxIterations`. */
  readonly converged: boolean
  /** J at the returned parameters. */
  readonly objective: number
}

export interface LogisticOptions {
  /** Default 1000. */
  readonly maxIterations?: number
  /**
   * Stop when ‖∇J‖∞ falls below this; default 1e-4, scikit-learn's for its lbfgs solver (J is a
   * mean, so this does not grow with n). On sentence embeddings a tenth of it costs twice the
   * iterations and moves J by about 1e-5 and held-out accuracy by about 0.1%.
   */
  readonly gradientTolerance?: number
  /** Stop when an iteration lowers J by less than this fraction of |J|; default 1e-10. */
  readonly relativeDecrease?: number
  /** L-BFGS memory; default 10. */
  readonly memory?: number
  /** Where X·Wᵀ and Rᵀ·X run; default the native kernels when built. Either gives the same bits. */
  readonly products?: DesignProducts
}

/** Rows standardised into one row-major block, as the fit and the predictions read them. */
export interface Design {
  readonly x: Float64Array
  readonly n: number
  readonly d: number
}

export const fitStandardiser = (rows: ReadonlyArray<ArrayLike<number>>): Standardiser => {
  const n = rows.length
  const d = rows[0]?.length ?? 0
  if (n === 0) throw new Error("fitStandardiser: no rows")
  const mean = new Float64Array(d)
  for (const row of rows) for (let j = 0; j < d; j++) mean[j] = (mean[j] ?? 0) + (row[j] ?? 0)
  for (let j = 0; j < d; j++) mean[j] = (mean[j] ?? 0) / n
  const variance = new Float64Array(d)
  for (const row of rows) {
    for (let j = 0; j < d; j++) {
      const centred = (row[j] ?? 0) - (mean[j] ?? 0)
      variance[j] = (variance[j] ?? 0) + centred * centred
    }
  }
  const scale = Float64Array.from(variance, (sum) => {
    const sigma = Math.sqrt(sum / n)
    // A constant feature is all zeros once centred; any scale leaves it so.
    return sigma > 0 ? 1 / sigma : 1
  })
  return { mean, scale }
}

export const standardise = (standardiser: Standardiser, rows: ReadonlyArray<ArrayLike<number>>): Design => {
  const d = standardiser.mean.length
  const x = new Float64Array(rows.length * d)
  for (const [i, row] of rows.entries()) {
    if (row.length !== d) throw new Error(`standardise: row ${i} has ${row.length} values, expected ${d}`)
    const offset = i * d
    for (let j = 0; j < d; j++) x[offset + j] = ((row[j] ?? 0) - (standardiser.mean[j] ?? 0)) * (standardiser.scale[j] ?? 1)
  }
  return { x, n: rows.length, d }
}

const checkLabels = (labels: ArrayLike<number>, n: number, classes: number): void => {
  if (labels.length !== n) throw new Error(`logistic regression: ${n} rows against ${labels.length} labels`)
  if (!(Number.isInteger(classes) && classes >= 2)) throw new Error(`logistic regression: need at least 2 classes, got ${classes}`)
  for (let i = 0; i < n; i++) {
    const label = labels[i] ?? -1
    if (!(Number.isInteger(label) && label >= 0 && label < classes)) throw new Error(`logistic regression: label ${label} of row ${i} is not in 0…${classes - 1}`)
  }
}

// ------------------------------------------------------------------ objectives

/** log(1 + eᶻ) without overflow. */
const softplus = (z: number): number => (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z)))

/** θ = [w (d), c]: J = (1/n) Σ softplus(−sᵢ(w·xᵢ + c)) + (μ/2)‖w‖², sᵢ = ±1. Writes ∇J into `gradient`. */
const binaryObjective = (design: Design, labels: ArrayLike<number>, mu: number, products: DesignProducts) => {
  const { x, n, d } = design
  const scores = new Float64Array(n)
  const residuals = new Float64Array(n)
  return (theta: Float64Array, gradient: Float64Array): number => {
    products.scores(x, n, d, theta.subarray(0, d), theta.subarray(d, d + 1), 1, scores)
    let loss = 0
    let biasGradient = 0
    for (let i = 0; i < n; i++) {
      const z = scores[i] ?? 0
      const sign = labels[i] === 1 ? 1 : -1
      loss += softplus(-sign * z)
      // ∂/∂z softplus(−s z) = −s·σ(−s z)
      const margin = sign * z
      const sigmoidOfMinusMargin = margin >= 0 ? Math.exp(-margin) / (1 + Math.exp(-margin)) : 1 / (1 + Math.exp(margin))
      const residual = -sign * sigmoidOfMinusMargin
      biasGradient += residual
      residuals[i] = residual
    }
    products.gradient(x, n, d, residuals, 1, gradient)
    let penalty = 0
    for (let j = 0; j < d; j++) {
      const w = theta[j] ?? 0
      penalty += w * w
      gradient[j] = (gradient[j] ?? 0) / n + mu * w
    }
    gradient[d] = biasGradient / n
    return loss / n + (mu / 2) * penalty
  }
}

/** θ = [W (K×d row-major), b (K)]. Writes ∇J into `gradient`. */
const softmaxObjective = (design: Design, labels: ArrayLike<number>, classes: number, lambda: number, products: DesignProducts) => {
  const { x, n, d } = design
  const biasOffset = classes * d
  const logits = new Float64Array(n * classes)
  const residuals = new Float64Array(n * classes)
  return (theta: Float64Array, gradient: Float64Array): number => {
    products.scores(x, n, d, theta.subarray(0, biasOffset), theta.subarray(biasOffset), classes, logits)
    gradient.fill(0, biasOffset)
    let loss = 0
    for (let i = 0; i < n; i++) {
      const offset = i * classes
      let largest = -Infinity
      for (let k = 0; k < classes; k++) {
        const z = logits[offset + k] ?? 0
        if (z > largest) largest = z
      }
      let sum = 0
      for (let k = 0; k < classes; k++) {
        const e = Math.exp((logits[offset + k] ?? 0) - largest)
        logits[offset + k] = e
        sum += e
      }
      const label = labels[i] ?? 0
      // −log p_y = log Σ e^{z_k} − z_y, computed from the shifted exponentials.
      loss += Math.log(sum) - Math.log(logits[offset + label] ?? 0)
      for (let k = 0; k < classes; k++) {
        const residual = (logits[offset + k] ?? 0) / sum - (k === label ? 1 : 0)
        gradient[biasOffset + k] = (gradient[biasOffset + k] ?? 0) + residual
        residuals[offset + k] = residual
      }
    }
    products.gradient(x, n, d, residuals, classes, gradient)
    let penalty = 0
    for (let p = 0; p < biasOffset; p++) {
      const w = theta[p] ?? 0
      penalty += w * w
      gradient[p] = (gradient[p] ?? 0) / n + lambda * w
    }
    for (let k = 0; k < classes; k++) gradient[biasOffset + k] = (gradient[biasOffset + k] ?? 0) / n
    // The shifted form loses the −log p_y = Infinity case only when p_y underflows to 0, which a
    // finite loss cannot recover from anyway; it stays finite for any finite logits otherwise.
    return loss / n + (lambda / 2) * penalty
  }
}

// ------------------------------------------------------------------ L-BFGS

interface Minimum {
  readonly theta: Float64Array
  readonly value: number
  readonly iterations: number
  readonly converged: boolean
}

const dot = (a: Float64Array, b: Float64Array): number => {
  let sum = 0
  for (let i = 0; i < a.length; i++) sum += (a[i] ?? 0) * (b[i] ?? 0)
  return sum
}

const maxAbs = (a: Float64Array): number => {
  let largest = 0
  for (let i = 0; i < a.length; i++) largest = Math.max(largest, Math.abs(a[i] ?? 0))
  return largest
}

/**
 * Nocedal & Wright's Algorithm 7.4/7.5 with a backtracking (Armijo) line search; for a convex J
 * every pair has sᵀy ≥ 0, and pairs with too little curvature are skipped rather than stored.
 */
const minimiseLbfgs = (
  objective: (theta: Float64Array, gradient: Float64Array) => number,
  start: Float64Array,
  options: LogisticOptions
): Minimum => {
  const maxIterations = options.maxIterations ?? 1000
  const gradientTolerance = options.gradientTolerance ?? 1e-4
  const relativeDecrease = options.relativeDecrease ?? 1e-10
  const memory = options.memory ?? 10
  const p = start.length
  let theta = start.slice()
  let gradient = new Float64Array(p)
  let value = objective(theta, gradient)
  const steps: Array<Float64Array> = []
  const changes: Array<Float64Array> = []
  const inverseCurvatures: Array<number> = []
  const alpha = new Float64Array(memory)
  const direction = new Float64Array(p)
  let candidate = new Float64Array(p)
  let candidateGradient = new Float64Array(p)

  for (let iteration = 0; iteration < maxIterations; iteration++) {
    if (maxAbs(gradient) <= gradientTolerance) return { theta, value, iterations: iteration, converged: true }
    // Two-loop recursion: direction = −H·∇J.
    for (let i = 0; i < p; i++) direction[i] = -(gradient[i] ?? 0)
    for (let m = steps.length - 1; m >= 0; m--) {
      const a = (inverseCurvatures[m] ?? 0) * dot(steps[m] as Float64Array, direction)
      alpha[m] = a
      const y = changes[m] as Float64Array
      for (let i = 0; i < p; i++) direction[i] = (direction[i] ?? 0) - a * (y[i] ?? 0)
    }
    const newest = steps.length - 1
    if (newest >= 0) {
      const y = changes[newest] as Float64Array
      const gamma = dot(steps[newest] as Float64Array, y) / dot(y, y)
      for (let i = 0; i < p; i++) direction[i] = (direction[i] ?? 0) * gamma
    }
    for (let m = 0; m < steps.length; m++) {
      const beta = (inverseCurvatures[m] ?? 0) * dot(changes[m] as Float64Array, direction)
      const s = steps[m] as Float64Array
      const a = alpha[m] ?? 0
      for (let i = 0; i < p; i++) direction[i] = (direction[i] ?? 0) + (a - beta) * (s[i] ?? 0)
    }
    let slope = dot(gradient, direction)
    if (!(slope < 0)) {
      // Not a descent direction (rounding): forget the curvature pairs and go downhill.
      steps.length = 0
      changes.length = 0
      inverseCurvatures.length = 0
      for (let i = 0; i < p; i++) direction[i] = -(gradient[i] ?? 0)
      slope = dot(gradient, direction)
    }
    // Without curvature pairs the direction has the gradient's size, which may be far off scale.
    let step = steps.length === 0 ? Math.min(1, 1 / Math.sqrt(-slope)) : 1
    let accepted = false
    let candidateValue = value
    for (let tries = 0; tries < 60; tries++) {
      for (let i = 0; i < p; i++) candidate[i] = (theta[i] ?? 0) + step * (direction[i] ?? 0)
      candidateValue = objective(candidate, candidateGradient)
      if (Number.isFinite(candidateValue) && candidateValue <= value + 1e-4 * step * slope) {
        accepted = true
        break
      }
      // The minimiser of the quadratic through J(0), J'(0) and J(step), kept within [0.1, 0.5]·step.
      const curvature = candidateValue - value - slope * step
      const quadratic = Number.isFinite(candidateValue) && curvature > 0 ? (-slope * step * step) / (2 * curvature) : 0.5 * step
      step = Math.min(0.5 * step, Math.max(0.1 * step, quadratic))
    }
    if (!accepted) {
      // J cannot be lowered along a descent direction: θ is a minimiser to working precision.
      return { theta, value, iterations: iteration, converged: maxAbs(gradient) <= Math.sqrt(gradientTolerance) }
    }
    const s = new Float64Array(p)
    const y = new Float64Array(p)
    for (let i = 0; i < p; i++) {
      s[i] = (candidate[i] ?? 0) - (theta[i] ?? 0)
      y[i] = (candidateGradient[i] ?? 0) - (gradient[i] ?? 0)
    }
    const curvature = dot(s, y)
    if (curvature > 1e-12 * dot(y, y)) {
      if (steps.length === memory) {
        steps.shift()
        changes.shift()
        inverseCurvatures.shift()
      }
      steps.push(s)
      changes.push(y)
      inverseCurvatures.push(1 / curvature)
    }
    const decrease = value - candidateValue
    ;[theta, candidate] = [candidate, theta]
    ;[gradient, candidateGradient] = [candidateGradient, gradient]
    value = candidateValue
    if (decrease <= relativeDecrease * Math.max(Math.abs(value), 1e-300)) {
      return { theta, value, iterations: iteration + 1, converged: true }
    }
  }
  return { theta, value, iterations: maxIterations, converged: maxAbs(gradient) <= gradientTolerance }
}

// ------------------------------------------------------------------ fitting

const fitOnDesign = (
  design: Design,
  labels: ArrayLike<number>,
  classes: number,
  lambda: number,
  standardiser: Standardiser,
  options: LogisticOptions,
  warmStart: LogisticModel | undefined
): LogisticModel => {
  if (!(lambda > 0)) throw new Error(`logistic regression: λ must be > 0, got ${lambda}`)
  const { d } = design
  if (classes === 2) {
    const start = new Float64Array(d + 1)
    if (warmStart !== undefined) {
      for (let j = 0; j < d; j++) start[j] = (warmStart.weights[d + j] ?? 0) - (warmStart.weights[j] ?? 0)
      start[d] = (warmStart.bias[1] ?? 0) - (warmStart.bias[0] ?? 0)
    }
    const found = minimiseLbfgs(binaryObjective(design, labels, lambda / 2, options.products ?? defaultProducts), start, options)
    const weights = new Float64Array(2 * d)
    for (let j = 0; j < d; j++) {
      weights[j] = -(found.theta[j] ?? 0) / 2
      weights[d + j] = (found.theta[j] ?? 0) / 2
    }
    const c = found.theta[d] ?? 0
    return {
      classes,
      dims: d,
      standardiser,
      weights,
      bias: Float64Array.from([-c / 2, c / 2]),
      lambda,
      iterations: found.iterations,
      converged: found.converged,
      objective: found.value
    }
  }
  const start = new Float64Array(classes * d + classes)
  if (warmStart !== undefined) {
    start.set(warmStart.weights, 0)
    start.set(warmStart.bias, classes * d)
  }
  const found = minimiseLbfgs(softmaxObjective(design, labels, classes, lambda, options.products ?? defaultProducts), start, options)
  return {
    classes,
    dims: d,
    standardiser,
    weights: found.theta.slice(0, classes * d),
    bias: found.theta.slice(classes * d),
    lambda,
    iterations: found.iterations,
    converged: found.converged,
    objective: found.value
  }
}

export const fitLogisticRegression = (
  rows: ReadonlyArray<ArrayLike<number>>,
  labels: ArrayLike<number>,
  classes: number,
  lambda: number,
  options: LogisticOptions = {}
): LogisticModel => {
  const [model] = fitLogisticPath(rows, labels, classes, [lambda], options)
  if (model === undefined) throw new Error("fitLogisticRegression: no model")
  return model
}

/**
 * One model per λ, in the order given. The features are standardised once; the fits run from
 * the largest λ down, each starting from the previous solution, which is close (the path is
 * continuous in λ) and so costs a fraction of a cold start.
 */
export const fitLogisticPath = (
  rows: ReadonlyArray<ArrayLike<number>>,
  labels: ArrayLike<number>,
  classes: number,
  lambdas: ReadonlyArray<number>,
  options: LogisticOptions = {}
): Array<LogisticModel> => {
  if (rows.length === 0) throw new Error("logistic regression: no rows")
  checkLabels(labels, rows.length, classes)
  const standardiser = fitStandardiser(rows)
  const design = standardise(standardiser, rows)
  const order = lambdas.map((lambda, index) => ({ lambda, index })).sort((a, b) => b.lambda - a.lambda)
  const models: Array<LogisticModel> = new Array(lambdas.length)
  let previous: LogisticModel | undefined
  for (const { lambda, index } of order) {
    previous = fitOnDesign(design, labels, classes, lambda, standardiser, options, previous)
    models[index] = previous
  }
  return models
}

/** Scores W·x̃ + b per row, row-major [n, classes]. */
export const logisticScores = (model: LogisticModel, rows: ReadonlyArray<ArrayLike<number>>): Float64Array => {
  const { x, n, d } = standardise(model.standardiser, rows)
  const scores = new Float64Array(n * model.classes)
  defaultProducts.scores(x, n, d, model.weights, model.bias, model.classes, scores)
  return scores
}

/** Class probabilities per row, row-major [n, classes]. */
export const logisticProbabilities = (model: LogisticModel, rows: ReadonlyArray<ArrayLike<number>>): Float64Array => {
  const scores = logisticScores(model, rows)
  const k = model.classes
  for (let i = 0; i < rows.length; i++) {
    let largest = -Infinity
    for (let c = 0; c < k; c++) largest = Math.max(largest, scores[i * k + c] ?? -Infinity)
    let sum = 0
    for (let c = 0; c < k; c++) {
      const e = Math.exp((scores[i * k + c] ?? 0) - largest)
      scores[i * k + c] = e
      sum += e
    }
    for (let c = 0; c < k; c++) scores[i * k + c] = (scores[i * k + c] ?? 0) / sum
  }
  return scores
}

/** The most probable class per row; a tie goes to the lower class index. */
export const predictLogistic = (model: LogisticModel, rows: ReadonlyArray<ArrayLike<number>>): Int32Array => {
  const scores = logisticScores(model, rows)
  const k = model.classes
  return Int32Array.from({ length: rows.length }, (_, i) => {
    let best = 0
    for (let c = 1; c < k; c++) if ((scores[i * k + c] ?? -Infinity) > (scores[i * k + best] ?? -Infinity)) best = c
    return best
  })
}
