/**
 * The linear probes' two float64 products (plugins/evaluators/math/design-products.ts), native
 * against JavaScript, at MR's shape (n = 8,600 rows of 512 features: a training fold) for 2 and
 * 6 classes — docs/PERFORMANCE.md's "Linear probes" table.
 *
 *   npx tsx pipelines/bench/probe-kernels.ts
 */
import { javascriptProducts, nativeProducts, type DesignProducts } from "../../plugins/evaluators/math/design-products.ts"

const n = 8600
const d = 512
const repeats = 20
let seed = 1
// A small LCG: the values only need to be ordinary numbers, the same on every run.
const next = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31
  return seed / 2 ** 31 - 0.5
}
const x = Float64Array.from({ length: n * d }, next)
const weights = Float64Array.from({ length: 6 * d }, next)
const bias = new Float64Array(6)
const scores = new Float64Array(n * 6)
const gradient = new Float64Array(6 * d)

const meanMs = (run: () => void): number => {
  run()
  const start = performance.now()
  for (let r = 0; r < repeats; r++) run()
  return (performance.now() - start) / repeats
}

const products: Array<DesignProducts> = nativeProducts === undefined ? [javascriptProducts] : [javascriptProducts, nativeProducts]
if (nativeProducts === undefined) console.log("the native kernels are not built: JavaScript only")
console.log(`n ${n}, d ${d}, mean of ${repeats} calls, ms`)
console.log("products     classes  scores  gradient")
for (const p of products) {
  for (const classes of [1, 6]) {
    const s = meanMs(() => p.scores(x, n, d, weights, bias, classes, scores))
    const g = meanMs(() => p.gradient(x, n, d, scores, classes, gradient))
    // One column for a binary probe: carl fits two classes as one logistic model.
    console.log(`${p.name.padEnd(12)} ${String(classes === 1 ? 2 : classes).padStart(7)}  ${s.toFixed(2).padStart(6)}  ${g.toFixed(2).padStart(8)}`)
  }
}
