/**
 * The page's reference corpus: labelled sentences embedded once at start-up, unit-normalised for
 * cosine nearest neighbours, and projected on their first two principal components for the map.
 * A typed text is placed on the same map by the same projection.
 */
import { fitPca, projectPca, type PcaResult } from "../../plugins/evaluators/math/pca.ts"

export interface ReferenceSentence {
  readonly text: string
  /** Gold labels on [−1, 1] (Eq. 12). */
  readonly valence: number
  readonly arousal: number
}

export interface Reference {
  readonly name: string
  readonly sentences: ReadonlyArray<ReferenceSentence>
  /** Unit vectors, one per sentence. */
  readonly unit: ReadonlyArray<Float64Array>
  readonly pca: PcaResult
  /** Each sentence's place on the map (PC1, PC2). */
  readonly points: ReadonlyArray<readonly [number, number]>
}

export const unitVector = (vector: ArrayLike<number>): Float64Array => {
  let norm = 0
  for (let i = 0; i < vector.length; i++) norm += (vector[i] ?? 0) ** 2
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0
  return Float64Array.from({ length: vector.length }, (_, i) => (vector[i] ?? 0) * scale)
}

export const buildReference = (name: string, sentences: ReadonlyArray<ReferenceSentence>, vectors: ReadonlyArray<ArrayLike<number>>): Reference => {
  const pca = fitPca(vectors, 2)
  return {
    name,
    sentences,
    unit: vectors.map(unitVector),
    pca,
    points: projectPca(pca, vectors).map((point) => [point[0] ?? 0, point[1] ?? 0] as const)
  }
}

export interface Neighbour {
  readonly index: number
  readonly similarity: number
}

/** The `k` reference sentences most cosine-similar to `vector`, most similar first. */
export const nearest = (reference: Reference, vector: ArrayLike<number>, k: number): Array<Neighbour> => {
  const query = unitVector(vector)
  const scored = reference.unit.map((unit, index) => {
    let dot = 0
    for (let j = 0; j < unit.length; j++) dot += (unit[j] ?? 0) * (query[j] ?? 0)
    return { index, similarity: dot }
  })
  return scored.sort((a, b) => b.similarity - a.similarity || a.index - b.index).slice(0, k)
}

export const placeOnMap = (reference: Reference, vector: ArrayLike<number>): readonly [number, number] => {
  const [point] = projectPca(reference.pca, [vector])
  return [point?.[0] ?? 0, point?.[1] ?? 0]
}
