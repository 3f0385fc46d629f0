/**
 * The page's reference corpus: labelled sentences embedded once at start-up, unit-normalised for
 * cosine nearest neighbours, and projected on their first two principal components for the map.
 * A typed text is placed on the same map by the same projection.
 */
import { l2Normalise } from "../../plugins/evaluators/embedding-geometry.ts"
import { fitPca, projectPca, type PcaResult } from "../../plugins/evaluators/math/pca.ts"

export interface Reference {
  /** Unit vectors, one per sentence. */
  readonly unit: ReadonlyArray<Float64Array>
  readonly pca: PcaResult
  /** Each sentence's place on the map (PC1, PC2). */
  readonly points: ReadonlyArray<readonly [number, number]>
}

/** The reference sentences' embeddings, in the sentences' order. */
export const buildReference = (vectors: ReadonlyArray<ArrayLike<number>>): Reference => {
  const pca = fitPca(vectors, 2)
  return {
    unit: vectors.map(l2Normalise),
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
  const query = l2Normalise(vector)
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
