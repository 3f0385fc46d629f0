/**
 * Principal components in float64: the leading eigenvectors of the d×d sample covariance
 * C = Σᵢ (xᵢ − μ)(xᵢ − μ)ᵀ / (n − 1), found by subspace iteration with Rayleigh–Ritz (block power
 * iteration on a block a few vectors wider than asked for, so the error shrinks like
 * (λ_{block+1}/λ_k)^t rather than (λ_{k+1}/λ_k)^t), the small projected problem solved by
 * cyclic Jacobi. Deterministic: the starting block comes from a fixed seed.
 */
import { SeededRandom } from "../../../core/random.ts"

export interface PcaResult {
  readonly mean: Float64Array
  /** Unit vectors, largest variance first; the sign makes each one's largest-magnitude entry positive. */
  readonly components: ReadonlyArray<Float64Array>
  /** The eigenvalues of C for those components (variance along each). */
  readonly variances: ReadonlyArray<number>
  /** trace(C): the variance of all directions together. */
  readonly totalVariance: number
  /** variances / totalVariance (0 when the points do not vary at all). */
  readonly explainedVarianceRatio: ReadonlyArray<number>
  readonly iterations: number
}

export interface PcaOptions {
  /** Default 2000. */
  readonly maxIterations?: number
  /** Stop when every wanted Ritz pair has ‖Cv − θv‖ ≤ tolerance·θ₁; default 1e-10. */
  readonly tolerance?: number
}

/** Eigen-decomposition of a small symmetric matrix (row-major m×m) by cyclic Jacobi rotations. */
export const symmetricEigen = (matrix: Float64Array, m: number): { values: Float64Array; vectors: Float64Array } => {
  const a = matrix.slice()
  // Columns of `vectors` are the eigenvectors.
  const vectors = new Float64Array(m * m)
  for (let i = 0; i < m; i++) vectors[i * m + i] = 1
  for (let sweep = 0; sweep < 100; sweep++) {
    let offDiagonal = 0
    let scale = 0
    for (let i = 0; i < m; i++) {
      scale += (a[i * m + i] ?? 0) ** 2
      for (let j = i + 1; j < m; j++) offDiagonal += (a[i * m + j] ?? 0) ** 2
    }
    if (offDiagonal <= 1e-30 * Math.max(scale, 1e-300)) break
    for (let p = 0; p < m; p++) {
      for (let q = p + 1; q < m; q++) {
        const apq = a[p * m + q] ?? 0
        if (apq === 0) continue
        const app = a[p * m + p] ?? 0
        const aqq = a[q * m + q] ?? 0
        // The rotation angle that zeroes a_pq (Golub & Van Loan, Algorithm 8.5.1).
        const tau = (aqq - app) / (2 * apq)
        const t = (tau >= 0 ? 1 : -1) / (Math.abs(tau) + Math.sqrt(1 + tau * tau))
        const c = 1 / Math.sqrt(1 + t * t)
        const s = t * c
        for (let k = 0; k < m; k++) {
          const akp = a[k * m + p] ?? 0
          const akq = a[k * m + q] ?? 0
          a[k * m + p] = c * akp - s * akq
          a[k * m + q] = s * akp + c * akq
        }
        for (let k = 0; k < m; k++) {
          const apk = a[p * m + k] ?? 0
          const aqk = a[q * m + k] ?? 0
          a[p * m + k] = c * apk - s * aqk
          a[q * m + k] = s * apk + c * aqk
        }
        for (let k = 0; k < m; k++) {
          const vkp = vectors[k * m + p] ?? 0
          const vkq = vectors[k * m + q] ?? 0
          vectors[k * m + p] = c * vkp - s * vkq
          vectors[k * m + q] = s * vkp + c * vkq
        }
      }
    }
  }
  return { values: Float64Array.from({ length: m }, (_, i) => a[i * m + i] ?? 0), vectors }
}

/**
 * Modified Gram–Schmidt on the columns of a d×b block (stored as b vectors). A column that
 * vanishes against the ones before it (a rank-deficient C) is replaced by a fresh random one.
 */
const orthonormalise = (block: Array<Float64Array>, random: SeededRandom): void => {
  for (let c = 0; c < block.length; c++) {
    const v = block[c] as Float64Array
    for (let attempt = 0; attempt < 5; attempt++) {
      const before = Math.sqrt(v.reduce((sum, x) => sum + x * x, 0))
      for (let previous = 0; previous < c; previous++) {
        const u = block[previous] as Float64Array
        let projection = 0
        for (let j = 0; j < v.length; j++) projection += (u[j] ?? 0) * (v[j] ?? 0)
        for (let j = 0; j < v.length; j++) v[j] = (v[j] ?? 0) - projection * (u[j] ?? 0)
      }
      const norm = Math.sqrt(v.reduce((sum, x) => sum + x * x, 0))
      if (norm > 1e-10 * Math.max(before, 1e-300)) {
        for (let j = 0; j < v.length; j++) v[j] = (v[j] ?? 0) / norm
        break
      }
      for (let j = 0; j < v.length; j++) v[j] = random.normal()
    }
  }
}

export const fitPca = (rows: ReadonlyArray<ArrayLike<number>>, components = 2, options: PcaOptions = {}): PcaResult => {
  const n = rows.length
  const d = rows[0]?.length ?? 0
  if (n < 2) throw new Error(`fitPca: need at least 2 rows, got ${n}`)
  const k = Math.min(components, d)
  const mean = new Float64Array(d)
  for (const row of rows) for (let j = 0; j < d; j++) mean[j] = (mean[j] ?? 0) + (row[j] ?? 0) / n
  // Lower triangle of Σ (x − μ)(x − μ)ᵀ, then mirrored.
  const covariance = new Float64Array(d * d)
  const centred = new Float64Array(d)
  for (const row of rows) {
    for (let j = 0; j < d; j++) centred[j] = (row[j] ?? 0) - (mean[j] ?? 0)
    for (let i = 0; i < d; i++) {
      const ci = centred[i] ?? 0
      if (ci === 0) continue
      const offset = i * d
      for (let j = 0; j <= i; j++) covariance[offset + j] = (covariance[offset + j] ?? 0) + ci * (centred[j] ?? 0)
    }
  }
  let totalVariance = 0
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      const value = (covariance[i * d + j] ?? 0) / (n - 1)
      covariance[i * d + j] = value
      covariance[j * d + i] = value
    }
    totalVariance += covariance[i * d + i] ?? 0
  }
  if (!(totalVariance > 0)) {
    const axes = Array.from({ length: k }, (_, c) => Float64Array.from({ length: d }, (_, j) => (j === c ? 1 : 0)))
    return { mean, components: axes, variances: axes.map(() => 0), totalVariance: 0, explainedVarianceRatio: axes.map(() => 0), iterations: 0 }
  }

  const width = Math.min(d, Math.max(2 * k, k + 8))
  const random = new SeededRandom(0x9ca)
  const block: Array<Float64Array> = Array.from({ length: width }, () => Float64Array.from({ length: d }, () => random.normal()))
  orthonormalise(block, random)
  const multiply = (v: Float64Array): Float64Array => {
    const out = new Float64Array(d)
    for (let i = 0; i < d; i++) {
      let sum = 0
      const offset = i * d
      for (let j = 0; j < d; j++) sum += (covariance[offset + j] ?? 0) * (v[j] ?? 0)
      out[i] = sum
    }
    return out
  }
  const maxIterations = options.maxIterations ?? 2000
  const tolerance = options.tolerance ?? 1e-10
  let ritzVectors: Array<Float64Array> = block
  let ritzValues: Array<number> = []
  let iterations = 0
  for (; iterations < maxIterations; ) {
    iterations++
    const images = block.map(multiply)
    // T = Vᵀ C V, the Rayleigh quotient of the block.
    const t = new Float64Array(width * width)
    for (let a = 0; a < width; a++) {
      for (let b = 0; b <= a; b++) {
        let sum = 0
        const va = block[a] as Float64Array
        const cb = images[b] as Float64Array
        for (let j = 0; j < d; j++) sum += (va[j] ?? 0) * (cb[j] ?? 0)
        t[a * width + b] = sum
        t[b * width + a] = sum
      }
    }
    const { values, vectors } = symmetricEigen(t, width)
    const order = Array.from({ length: width }, (_, i) => i).sort((a, b) => (values[b] ?? 0) - (values[a] ?? 0))
    const combine = (source: ReadonlyArray<Float64Array>, column: number) => {
      const out = new Float64Array(d)
      for (let r = 0; r < width; r++) {
        const weight = vectors[r * width + column] ?? 0
        const v = source[r] as Float64Array
        for (let j = 0; j < d; j++) out[j] = (out[j] ?? 0) + weight * (v[j] ?? 0)
      }
      return out
    }
    ritzVectors = order.map((column) => combine(block, column))
    const ritzImages = order.map((column) => combine(images, column))
    ritzValues = order.map((column) => values[column] ?? 0)
    const largest = Math.max(ritzValues[0] ?? 0, 1e-300)
    let worst = 0
    for (let c = 0; c < k; c++) {
      const v = ritzVectors[c] as Float64Array
      const cv = ritzImages[c] as Float64Array
      const theta = ritzValues[c] ?? 0
      let residual = 0
      for (let j = 0; j < d; j++) residual += ((cv[j] ?? 0) - theta * (v[j] ?? 0)) ** 2
      worst = Math.max(worst, Math.sqrt(residual) / largest)
    }
    if (worst <= tolerance) break
    for (let c = 0; c < width; c++) block[c] = ritzImages[c] as Float64Array
    orthonormalise(block, random)
  }

  const chosen = ritzVectors.slice(0, k).map((vector) => {
    let pivot = 0
    for (let j = 1; j < d; j++) if (Math.abs(vector[j] ?? 0) > Math.abs(vector[pivot] ?? 0)) pivot = j
    const sign = (vector[pivot] ?? 0) < 0 ? -1 : 1
    const norm = Math.sqrt(vector.reduce((sum, x) => sum + x * x, 0))
    return vector.map((x) => (sign * x) / norm)
  })
  const variances = ritzValues.slice(0, k).map((value) => Math.max(value, 0))
  return {
    mean,
    components: chosen,
    variances,
    totalVariance,
    explainedVarianceRatio: variances.map((value) => value / totalVariance),
    iterations
  }
}

/** Coordinates of each row along the components: (x − μ)·vₖ. */
export const projectPca = (pca: PcaResult, rows: ReadonlyArray<ArrayLike<number>>): Array<Float64Array> =>
  rows.map((row) =>
    Float64Array.from(pca.components, (component) => {
      let sum = 0
      for (let j = 0; j < component.length; j++) sum += ((row[j] ?? 0) - (pca.mean[j] ?? 0)) * (component[j] ?? 0)
      return sum
    })
  )
