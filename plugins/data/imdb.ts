/**
 * IMDB reviews (Maas et al. 2011) read straight from the gzipped tar: aclImdb/{train,test}/{pos,neg}/
 * <id>_<rating>.txt, pos = rating ≥ 7 (label 1), neg = rating ≤ 4 (label 0). Other entries (README,
 * unsup/, the .feat files of the official release) are skipped unread.
 *
 * The archive is streamed through node:zlib and the tar reader; with `maxExamples`, each split is
 * a seeded reservoir sample (Algorithm R), so only the kept reviews are ever decoded or held.
 */
import { createReadStream } from "node:fs"
import { pipeline } from "node:stream/promises"
import { createGunzip } from "node:zlib"
import { Effect } from "effect"
import { SeededRandom } from "../../core/random.ts"
import { oneLine, problemText } from "../../core/errors.ts"
import { DataError } from "./data-error.ts"
import { TarReader, type TarHeader, type TarProblem } from "./tar.ts"

export type ImdbSplit = "train" | "test"

export interface ImdbExample {
  readonly text: string
  /** 1 for pos, 0 for neg. */
  readonly label: 0 | 1
  /** 1–10 stars, from the file name. */
  readonly rating: number
  /** The review id from the file name (unique within a split and polarity). */
  readonly id: number
}

export interface ImdbSplitCounts {
  /** Reviews in the archive for this split, per polarity. */
  readonly pos: number
  readonly neg: number
  /** Reviews in the archive per star rating. */
  readonly ratings: Readonly<Record<number, number>>
  /** Reviews returned: all of them, or `maxExamples`. */
  readonly kept: number
}

export interface ImdbCorpus {
  readonly file: string
  /** In archive order (the sample, when there is one, too). */
  readonly splits: Readonly<Record<ImdbSplit, ReadonlyArray<ImdbExample>>>
  readonly counts: Readonly<Record<ImdbSplit, ImdbSplitCounts>>
}

/** A sample needs its seed: `maxExamples` alone does not compile. */
export type ImdbOptions =
  | { readonly maxExamples?: undefined; readonly seed?: undefined }
  | { readonly maxExamples: number; readonly seed: number }

const REVIEW = /^(?:[^/]+\/)?(train|test)\/(pos|neg)\/(\d+)_(\d+)\.txt$/

interface Slot {
  readonly order: number
  readonly example: ImdbExample
}

/** Algorithm R over one split: item i replaces a random slot with probability k/(i+1). */
class Reservoir {
  readonly slots: Array<Slot> = []
  private seen = 0
  constructor(
    private readonly capacity: number,
    private readonly random: SeededRandom | undefined
  ) {}

  /** Where the next item would go, or undefined if it is not kept; advances the stream either way. */
  place(): number | undefined {
    const index = this.seen++
    if (this.random === undefined || index < this.capacity) return index
    const slot = this.random.int(index + 1)
    return slot < this.capacity ? slot : undefined
  }
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true })

interface Pending {
  readonly reservoir: Reservoir
  readonly slot: number
  readonly order: number
  readonly label: 0 | 1
  readonly rating: number
  readonly id: number
}

/**
 * Streams the archive through `reader`; resolves with the first problem, if any. The promise form
 * of `pipeline` waits for gunzip's flush (a truncated stream is its error, not a later unhandled
 * event) and, when the reader stops early, destroys both streams; that abort is not an error.
 */
const streamArchive = async (file: string, reader: TarReader, signal: AbortSignal): Promise<TarProblem | undefined> => {
  let problem: TarProblem | undefined
  const feed = async (chunks: AsyncIterable<Buffer>): Promise<void> => {
    for await (const chunk of chunks) {
      problem = reader.push(chunk)
      if (problem !== undefined) return
    }
  }
  await pipeline(createReadStream(file), createGunzip(), feed, { signal }).catch((error: unknown) => {
    if (problem === undefined) throw error
  })
  return problem ?? reader.finish()
}

export const readImdb = Effect.fn("readImdb")(function* (file: string, options: ImdbOptions = {}) {
  const { maxExamples, seed } = options
  if (maxExamples !== undefined && !(Number.isInteger(maxExamples) && maxExamples > 0)) {
    return yield* new DataError({ file, line: 0, field: "maxExamples", problem: `must be a positive integer (got ${maxExamples})` })
  }
  // One generator per split, so the test sample does not depend on how many train reviews came first.
  const root = seed === undefined ? undefined : new SeededRandom(seed)
  const reservoirs: Record<ImdbSplit, Reservoir> = {
    train: new Reservoir(maxExamples ?? Number.POSITIVE_INFINITY, root?.fork("imdb:train")),
    test: new Reservoir(maxExamples ?? Number.POSITIVE_INFINITY, root?.fork("imdb:test"))
  }
  const seen: Record<ImdbSplit, { pos: number; neg: number; ratings: Record<number, number> }> = {
    train: { pos: 0, neg: 0, ratings: {} },
    test: { pos: 0, neg: 0, ratings: {} }
  }
  let order = 0
  let pending: Pending | undefined

  const reader = new TarReader({
    header: (header: TarHeader) => {
      pending = undefined
      const match = header.kind === "file" ? REVIEW.exec(header.path) : null
      if (match === null) return false
      const split = match[1] as ImdbSplit
      const label = match[2] === "pos" ? 1 : 0
      const rating = Number(match[4])
      if (!(label === 1 ? rating >= 7 && rating <= 10 : rating >= 1 && rating <= 4)) {
        return `rating ${rating} does not belong in ${label === 1 ? "pos (7–10)" : "neg (1–4)"}`
      }
      const counts = seen[split]
      counts[label === 1 ? "pos" : "neg"]++
      counts.ratings[rating] = (counts.ratings[rating] ?? 0) + 1
      const reservoir = reservoirs[split]
      const slot = reservoir.place()
      const current = order++
      if (slot === undefined) return false
      pending = { reservoir, slot, order: current, label, rating, id: Number(match[3]) }
      return true
    },
    body: (_header: TarHeader, body: Uint8Array) => {
      if (pending === undefined) return undefined
      const { reservoir, slot, order: position, label, rating, id } = pending
      pending = undefined
      let text: string
      try {
        text = strictUtf8.decode(body)
      } catch {
        return "invalid UTF-8"
      }
      if (text.trim() === "") return "empty review"
      reservoir.slots[slot] = { order: position, example: { text, label, rating, id } }
      return undefined
    }
  })

  const problem = yield* Effect.tryPromise({
    try: (signal) => streamArchive(file, reader, signal),
    catch: (error) => {
      const { code, message } = error as NodeJS.ErrnoException
      // zlib's codes (Z_DATA_ERROR, Z_BUF_ERROR) mean the bytes, not the file system, are at fault.
      const problem = code?.startsWith("Z_") === true ? `not a valid gzip stream (${oneLine(message)})` : `cannot read (${code ?? problemText(error)})`
      return new DataError({ file, line: 0, field: "", problem })
    }
  })
  if (problem !== undefined) {
    return yield* new DataError({
      file,
      line: 0,
      field: "",
      problem: `${problem.path === "" ? "" : `entry ${JSON.stringify(problem.path)}: `}${problem.problem} (tar offset ${problem.offset})`
    })
  }
  for (const split of ["train", "test"] as const) {
    if (seen[split].pos + seen[split].neg === 0) {
      return yield* new DataError({ file, line: 0, field: "", problem: `no ${split} reviews in the archive (expected aclImdb/${split}/{pos,neg}/<id>_<rating>.txt)` })
    }
  }
  const examplesOf = (split: ImdbSplit) =>
    reservoirs[split].slots.slice().sort((a, b) => a.order - b.order).map((slot) => slot.example)
  const train = examplesOf("train")
  const test = examplesOf("test")
  const corpus: ImdbCorpus = {
    file,
    splits: { train, test },
    counts: {
      train: { ...seen.train, kept: train.length },
      test: { ...seen.test, kept: test.length }
    }
  }
  return corpus
})
