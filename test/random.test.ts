/**
 * SeededRandom: reproducible by seed, resumable from its state, forks that do not disturb the
 * parent, and the distributions it claims.
 */
import assert from "node:assert/strict"
import { describe, test } from "node:test"
import { SeededRandom } from "../core/random.ts"

const draws = (random: SeededRandom, count: number): Array<number> => Array.from({ length: count }, () => random.next())

describe("SeededRandom", () => {
  test("the same seed gives the same sequence", () => {
    const a = new SeededRandom(1234)
    const b = new SeededRandom(1234)
    assert.deepEqual(draws(a, 100), draws(b, 100))
    assert.equal(a.nextUint32(), b.nextUint32())
  })

  test("different seeds give different sequences", () => {
    const sequences = [0, 1, 2, 42, 0xffffffff].map((seed) => draws(new SeededRandom(seed), 8).join(","))
    assert.equal(new Set(sequences).size, sequences.length)
  })

  test("a sequence does not repeat a value in its first draws", () => {
    const values = draws(new SeededRandom(42), 1000)
    assert.equal(new Set(values).size, values.length)
  })

  test("state() and restore() resume the exact sequence", () => {
    const random = new SeededRandom(7)
    draws(random, 13)
    const saved = random.state()
    const expected = draws(random, 50)
    assert.notDeepEqual(random.state(), saved, "drawing changes the state")
    random.restore(saved)
    assert.deepEqual(draws(random, 50), expected)
  })

  test("restore() on another generator continues the saved one", () => {
    const source = new SeededRandom(7)
    draws(source, 5)
    const other = new SeededRandom(999)
    other.restore(source.state())
    assert.deepEqual(draws(other, 20), draws(source, 20))
  })

  test("SeededRandom.fromState resumes the exact sequence, also from a JSON round trip", () => {
    const source = new SeededRandom(2024)
    draws(source, 3)
    const saved = source.state()
    const json = JSON.parse(JSON.stringify(saved)) as [number, number, number, number]
    const expected = draws(source, 30)
    assert.deepEqual(draws(SeededRandom.fromState(saved), 30), expected)
    assert.deepEqual(draws(SeededRandom.fromState(json), 30), expected)
  })

  test("state() is a copy: changing it does not change the generator", () => {
    const random = new SeededRandom(5)
    // A careless caller that mutates the returned state (the type says readonly; JavaScript does not).
    const state = random.state() as unknown as Array<number>
    const expected = draws(new SeededRandom(5), 10)
    state[0] = 0
    state[1] = 0
    assert.deepEqual(draws(random, 10), expected)
  })

  test("fork(label) does not advance the parent", () => {
    const forked = new SeededRandom(11)
    const plain = new SeededRandom(11)
    draws(forked, 3)
    draws(plain, 3)
    const child = forked.fork("encoder")
    draws(child, 100)
    forked.fork("batch")
    assert.deepEqual(forked.state(), plain.state())
    assert.deepEqual(draws(forked, 50), draws(plain, 50))
  })

  test("forks are deterministic, differ by label, and differ from the parent", () => {
    const parent = new SeededRandom(11)
    const a = draws(parent.fork("encoder"), 20)
    assert.deepEqual(draws(parent.fork("encoder"), 20), a, "same label, same parent state: same sequence")
    assert.deepEqual(draws(new SeededRandom(11).fork("encoder"), 20), a)
    assert.notDeepEqual(draws(parent.fork("batch"), 20), a)
    assert.notDeepEqual(draws(parent.fork("encodes"), 20), a, "labels one character apart")
    assert.notDeepEqual(draws(parent.fork(""), 20), a)
    assert.notDeepEqual(draws(new SeededRandom(11), 20), a, "the fork is not the parent's sequence")
  })

  test("a fork depends on the parent's state", () => {
    const parent = new SeededRandom(11)
    const before = draws(parent.fork("x"), 10)
    parent.next()
    assert.notDeepEqual(draws(parent.fork("x"), 10), before)
    assert.notDeepEqual(draws(new SeededRandom(12).fork("x"), 10), before)
  })

  test("next() is in [0, 1) with mean ≈ 1/2", () => {
    const values = draws(new SeededRandom(3), 20000)
    for (const value of values) assert.ok(value >= 0 && value < 1, `${value} in [0, 1)`)
    const mean = values.reduce((sum, value) => sum + value, 0) / values.length
    assert.ok(Math.abs(mean - 0.5) < 0.01, `mean ${mean}`)
    assert.ok(values.some((value) => value < 0.01) && values.some((value) => value > 0.99), "spans the interval")
  })

  test("int(n) is an integer in [0, n) and covers every value for small n", () => {
    const random = new SeededRandom(9)
    for (const n of [1, 2, 3, 7, 10]) {
      const counts = new Array<number>(n).fill(0)
      for (let i = 0; i < 2000; i++) {
        const value = random.int(n)
        assert.ok(Number.isInteger(value) && value >= 0 && value < n, `int(${n}) gave ${value}`)
        counts[value] = (counts[value] ?? 0) + 1
      }
      for (const [value, count] of counts.entries()) {
        assert.ok(count > 2000 / n / 2, `int(${n}) drew ${value} ${count} times of 2000`)
      }
    }
  })

  test("normal() has mean ≈ 0 and standard deviation ≈ 1 over 20000 draws", () => {
    const random = new SeededRandom(17)
    const values = Array.from({ length: 20000 }, () => random.normal())
    assert.ok(values.every(Number.isFinite))
    const mean = values.reduce((sum, value) => sum + value, 0) / values.length
    const variance = values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / values.length
    assert.ok(Math.abs(mean) < 0.05, `mean ${mean}`)
    assert.ok(Math.abs(Math.sqrt(variance) - 1) < 0.05, `std ${Math.sqrt(variance)}`)
    const withinOne = values.filter((value) => Math.abs(value) < 1).length / values.length
    assert.ok(Math.abs(withinOne - 0.6827) < 0.02, `share within one std ${withinOne}`)
  })

  test("normal(mean, std) and normalArray(length, std) scale the draws", () => {
    const random = new SeededRandom(17)
    const values = Array.from({ length: 20000 }, () => random.normal(3, 0.5))
    const mean = values.reduce((sum, value) => sum + value, 0) / values.length
    const std = Math.sqrt(values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / values.length)
    assert.ok(Math.abs(mean - 3) < 0.05, `mean ${mean}`)
    assert.ok(Math.abs(std - 0.5) < 0.05, `std ${std}`)

    const array = new SeededRandom(1).normalArray(20000, 0.02)
    assert.ok(array instanceof Float32Array)
    assert.equal(array.length, 20000)
    const arrayStd = Math.sqrt(array.reduce((sum, value) => sum + value * value, 0) / array.length)
    assert.ok(Math.abs(arrayStd - 0.02) < 0.001, `normalArray std ${arrayStd}`)
  })

  test("shuffle is an in-place permutation, deterministic under a seed", () => {
    const items = Array.from({ length: 50 }, (_, i) => i)
    const shuffled = new SeededRandom(8).shuffle([...items])
    assert.deepEqual([...shuffled].sort((a, b) => a - b), items, "a permutation")
    assert.notDeepEqual(shuffled, items, "it moves items")
    assert.deepEqual(new SeededRandom(8).shuffle([...items]), shuffled, "deterministic under a seed")
    assert.notDeepEqual(new SeededRandom(9).shuffle([...items]), shuffled, "another seed, another order")

    const inPlace = [...items]
    assert.equal(new SeededRandom(8).shuffle(inPlace), inPlace, "returns the same array")
    assert.deepEqual(inPlace, shuffled)
    assert.deepEqual(new SeededRandom(8).shuffle([]), [])
    assert.deepEqual(new SeededRandom(8).shuffle(["only"]), ["only"])
  })

  test("shuffle reaches every position: each item lands everywhere over many shuffles", () => {
    const random = new SeededRandom(21)
    const seen = Array.from({ length: 4 }, () => new Set<number>())
    for (let round = 0; round < 200; round++) {
      const order = random.shuffle([0, 1, 2, 3])
      order.forEach((item, position) => seen[item]?.add(position))
    }
    for (const positions of seen) assert.equal(positions.size, 4)
  })
})
