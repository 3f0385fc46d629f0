/**
 * The geometry of an embedding space (the paper's Table IV and Figure 2).
 *
 * Alignment and uniformity (Wang & Isola 2020) on L2-normalised embeddings f(x):
 *   alignment  = E_{(x,y) ~ positive pairs} ‖f(x) − f(y)‖₂^α,           α = 2
 *   uniformity = log E_{x,y ~ data, x ≠ y} exp(−t‖f(x) − f(y)‖₂²),     t = 2
 * both lower-is-better. As in the paper, positive pairs are GoEmotions examples that share an
 * Ekman class; uniformity runs over all distinct pairs of the examples (torch.pdist's pairs).
 *
 * PCA: the raw (unnormalised) embeddings projected on their first two principal components,
 * with the class centroids' distances in that plane.
 */
import { fitPca, projectPca } from "./math/pca.ts"
import { SeededRandom } from "../../core/random.ts"
import type { EvaluationResult, Evaluator } from "./evaluator.ts"
import type { TextClassificationData } from "./classification-probes.ts"

export const ALIGNMENT_ALPHA = 2
export const UNIFORMITY_T = 2

export const l2Normalise = (vector: ArrayLike<number>): Float64Array => {
  let sum = 0
  for (let j = 0; j < vector.length; j++) sum += (vector[j] ?? 0) ** 2
  // A zero vector stays zero rather than becoming NaN.
  const norm = Math.max(Math.sqrt(sum), 1e-12)
  return Float64Array.from({ length: vector.length }, (_, j) => (vector[j] ?? 0) / norm)
}

const squaredDistance = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let sum = 0
  for (let j = 0; j < a.length; j++) {
    const difference = (a[j] ?? 0) - (b[j] ?? 0)
    sum += difference * difference
  }
  return sum
}

/** Pairs as two parallel index arrays: (first[p], second[p]). */
export interface IndexPairs {
  readonly first: Int32Array
  readonly second: Int32Array
}

/** Mean ‖vᵢ − vⱼ‖^α over the pairs (the vectors normalised by the caller). */
export const alignment = (normalised: ReadonlyArray<ArrayLike<number>>, pairs: IndexPairs, alpha = ALIGNMENT_ALPHA): number => {
  let sum = 0
  for (let p = 0; p < pairs.first.length; p++) {
    const squared = squaredDistance(normalised[pairs.first[p] ?? 0] ?? [], normalised[pairs.second[p] ?? 0] ?? [])
    sum += alpha === 2 ? squared : Math.sqrt(squared) ** alpha
  }
  return pairs.first.length === 0 ? Number.NaN : sum / pairs.first.length
}

/** log of the mean of exp(−t‖vᵢ − vⱼ‖²) over all i < j among `indices` (all rows by default). */
export const uniformity = (normalised: ReadonlyArray<ArrayLike<number>>, t = UNIFORMITY_T, indices?: ReadonlyArray<number>): number => {
  const rows = indices === undefined ? normalised : indices.map((i) => normalised[i] ?? [])
  let sum = 0
  let count = 0
  for (let i = 0; i < rows.length; i++) {
    const a = rows[i] ?? []
    for (let j = i + 1; j < rows.length; j++) {
      sum += Math.exp(-t * squaredDistance(a, rows[j] ?? []))
      count++
    }
  }
  return count === 0 ? Number.NaN : Math.log(sum / count)
}

/** The (a, b), a < b, at position q of the pairs of m items in the order (0,1), (0,2), …, (1,2), … */
const pairAt = (q: number, m: number): readonly [number, number] => {
  const before = (a: number) => a * m - (a * (a + 1)) / 2
  let a = Math.floor((2 * m - 1 - Math.sqrt((2 * m - 1) ** 2 - 8 * q)) / 2)
  // The square root may land one off either way in floating point.
  while (a > 0 && before(a) > q) a--
  while (before(a + 1) <= q) a++
  return [a, q - before(a) + a + 1]
}

export interface PositivePairs extends IndexPairs {
  /** Every same-class pair there is; `first.length` of them were kept. */
  readonly available: number
}

/**
 * All same-label pairs, or, when there are more than `maxPairs`, a uniform sample of `maxPairs`
 * distinct ones (Floyd's algorithm over the pair positions), listed in position order.
 */
export const positivePairs = (labels: ArrayLike<number>, maxPairs: number, random: SeededRandom): PositivePairs => {
  const members = new Map<number, Array<number>>()
  for (let i = 0; i < labels.length; i++) {
    const list = members.get(labels[i] ?? 0) ?? []
    list.push(i)
    members.set(labels[i] ?? 0, list)
  }
  const groups = [...members.entries()].sort((a, b) => a[0] - b[0]).map(([, list]) => list)
  const offsets: Array<number> = []
  let available = 0
  for (const group of groups) {
    offsets.push(available)
    available += (group.length * (group.length - 1)) / 2
  }
  let positions: Array<number>
  if (available <= maxPairs) positions = Array.from({ length: available }, (_, q) => q)
  else {
    const chosen = new Set<number>()
    for (let j = available - maxPairs; j < available; j++) {
      const candidate = random.int(j + 1)
      chosen.add(chosen.has(candidate) ? j : candidate)
    }
    positions = [...chosen].sort((a, b) => a - b)
  }
  const first = new Int32Array(positions.length)
  const second = new Int32Array(positions.length)
  let group = 0
  positions.forEach((position, p) => {
    while (group + 1 < groups.length && (offsets[group + 1] ?? Infinity) <= position) group++
    const list = groups[group] ?? []
    const [a, b] = pairAt(position - (offsets[group] ?? 0), list.length)
    first[p] = list[a] ?? 0
    second[p] = list[b] ?? 0
  })
  return { first, second, available }
}

/** `count` indices of 0…n−1 drawn without replacement, ascending; all of them when n ≤ count. */
export const sampleIndices = (n: number, count: number, random: SeededRandom): Array<number> => {
  const all = Array.from({ length: n }, (_, i) => i)
  if (n <= count) return all
  return random.shuffle(all).slice(0, count).sort((a, b) => a - b)
}

export interface PcaPoint {
  readonly x: number
  readonly y: number
  readonly label: string
}

export interface PcaReport {
  readonly points: ReadonlyArray<PcaPoint>
  readonly explainedVariance: readonly [number, number]
  /** Euclidean distances between class centroids in the plane, keyed "<a>|<b>" with a before b in class order. */
  readonly centroidDistances: Readonly<Record<string, number>>
}

export interface GeometryResult extends EvaluationResult {
  readonly pca: PcaReport
}

export type GeometryEvaluator = Evaluator<GeometryResult>

export interface GeometrySettings {
  /** Class names; labels index into them. */
  readonly classes: ReadonlyArray<string>
  readonly data: TextClassificationData
  readonly seed: number
  /** Default 500,000 positive pairs. */
  readonly maxPositivePairs?: number
  /** Default 4,000 points (about 8 million pairs). */
  readonly maxUniformityPoints?: number
  /** Default 1,500 points in the report (the PCA itself and the centroids use all of them). */
  readonly maxPcaPoints?: number
}

/** Alignment, uniformity and a 2-D PCA of one labelled set (the GoEmotions Ekman test split). */
export const embeddingGeometryEvaluator = (settings: GeometrySettings): GeometryEvaluator => ({
  name: "embedding-geometry",
  // Neither number alone rates a space (a collapsed one aligns perfectly); alignment is Table IV's first.
  primaryMetric: "alignment",
  greaterIsBetter: false,
  evaluate: (embed) => {
    const vectors = embed(settings.data.texts)
    const labels = settings.data.labels
    const random = new SeededRandom(settings.seed).fork("embedding-geometry")
    const normalised = vectors.map(l2Normalise)
    const pairs = positivePairs(labels, settings.maxPositivePairs ?? 500_000, random.fork("positive-pairs"))
    const uniformityPoints = sampleIndices(normalised.length, settings.maxUniformityPoints ?? 4000, random.fork("uniformity"))
    const alignmentValue = alignment(normalised, pairs)
    const uniformityValue = uniformity(normalised, UNIFORMITY_T, uniformityPoints)

    const pca = fitPca(vectors, 2)
    const projected = projectPca(pca, vectors)
    const classes = settings.classes
    const sums = classes.map(() => ({ x: 0, y: 0, count: 0 }))
    projected.forEach((point, i) => {
      const sum = sums[labels[i] ?? -1]
      if (sum === undefined) return
      sum.x += point[0] ?? 0
      sum.y += point[1] ?? 0
      sum.count++
    })
    const centroids = sums.map((sum) => (sum.count === 0 ? undefined : { x: sum.x / sum.count, y: sum.y / sum.count }))
    const centroidDistances: Record<string, number> = {}
    classes.forEach((a, i) => {
      classes.forEach((b, j) => {
        const ca = centroids[i]
        const cb = centroids[j]
        if (j > i && ca !== undefined && cb !== undefined) centroidDistances[`${a}|${b}`] = Math.hypot(ca.x - cb.x, ca.y - cb.y)
      })
    })
    const shown = sampleIndices(projected.length, settings.maxPcaPoints ?? 1500, random.fork("pca-points"))
    const points = shown.map((i) => ({ x: projected[i]?.[0] ?? 0, y: projected[i]?.[1] ?? 0, label: classes[labels[i] ?? -1] ?? String(labels[i]) }))
    const explainedVariance: readonly [number, number] = [pca.explainedVarianceRatio[0] ?? 0, pca.explainedVarianceRatio[1] ?? 0]

    const uniformityPairs = (uniformityPoints.length * (uniformityPoints.length - 1)) / 2
    return {
      metrics: {
        alignment: alignmentValue,
        uniformity: uniformityValue,
        positivePairs: pairs.first.length,
        positivePairsAvailable: pairs.available,
        uniformityPairs,
        uniformityPoints: uniformityPoints.length,
        examples: normalised.length,
        "pca.explainedVariance.0": explainedVariance[0],
        "pca.explainedVariance.1": explainedVariance[1],
        "pca.points": points.length,
        "pca.iterations": pca.iterations
      },
      primary: alignmentValue,
      pca: { points, explainedVariance, centroidDistances }
    }
  }
})
