/**
 * GoEmotions (Demszky et al. 2020) as google-research publishes it: {train,dev,test}.tsv with
 * text, comma-separated label ids and the Reddit comment id, no header and no quoting (1,097 train
 * texts start with a literal '"', which a CSV reader would take for an opening quote);
 * emotions.txt names ids 0–27 (27 emotions, then neutral); ekman_mapping.json groups the emotions
 * into Ekman's six.
 */
import { join } from "node:path"
import { Effect } from "effect"
import { problemText } from "../../core/errors.ts"
import { DataError, quoteValue } from "./data-error.ts"
import { readUtf8Text, splitLines } from "./read-text.ts"
import { SPLITS, type Split } from "./types.ts"

export interface GoEmotionsExample {
  readonly text: string
  /** Ids into `emotions`, as in the file (multi-label). */
  readonly labels: ReadonlyArray<number>
  readonly id: string
}

export interface EkmanClass {
  readonly name: string
  readonly emotions: ReadonlyArray<string>
}

export interface GoEmotionsCorpus {
  /** emotions.txt: the 27 emotions and neutral, index = label id. */
  readonly emotions: ReadonlyArray<string>
  /** ekman_mapping.json, in the file's order. */
  readonly ekman: ReadonlyArray<EkmanClass>
  readonly splits: Readonly<Record<Split, ReadonlyArray<GoEmotionsExample>>>
  readonly counts: Readonly<Record<Split, number>>
}

const readEmotions = Effect.fn("readEmotions")(function* (file: string) {
  const names = splitLines(yield* readUtf8Text(file)).map((name) => name.trim())
  for (const [index, name] of names.entries()) {
    if (name === "") return yield* new DataError({ file, line: index + 1, field: "", problem: "empty emotion name" })
    if (names.indexOf(name) !== index) return yield* new DataError({ file, line: index + 1, field: "", problem: `'${name}' listed twice` })
  }
  if (names.length === 0) return yield* new DataError({ file, line: 0, field: "", problem: "empty file" })
  return names
})

const readEkmanMapping = Effect.fn("readEkmanMapping")(function* (file: string, emotions: ReadonlyArray<string>) {
  const text = yield* readUtf8Text(file)
  const fail = (field: string, problem: string) => new DataError({ file, line: 0, field, problem })
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    return yield* fail("", `not JSON (${problemText(error)})`)
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) return yield* fail("", "expected an object of class → emotions")
  const classes: Array<EkmanClass> = []
  const seen = new Map<string, string>()
  for (const [name, members] of Object.entries(json)) {
    if (!Array.isArray(members) || !members.every((member): member is string => typeof member === "string")) {
      return yield* fail(name, "expected a list of emotion names")
    }
    if (members.length === 0) return yield* fail(name, "lists no emotion")
    for (const member of members) {
      if (!emotions.includes(member)) return yield* fail(name, `'${member}' is not in emotions.txt`)
      const other = seen.get(member)
      if (other !== undefined) return yield* fail(name, `'${member}' is also in '${other}'`)
      seen.set(member, name)
    }
    classes.push({ name, emotions: members })
  }
  if (classes.length < 2) return yield* fail("", `${classes.length === 0 ? "no class" : "one class"} (the Ekman task needs at least two)`)
  return classes
})

const readSplit = Effect.fn("readGoEmotionsSplit")(function* (file: string, emotionCount: number) {
  const lines = splitLines(yield* readUtf8Text(file))
  const examples: Array<GoEmotionsExample> = []
  for (const [index, line] of lines.entries()) {
    const fail = (field: string, problem: string) => new DataError({ file, line: index + 1, field, problem })
    const fields = line.split("\t")
    const [text, labelList, id] = fields
    if (fields.length !== 3 || text === undefined || labelList === undefined || id === undefined) {
      return yield* fail("", `expected 3 tab-separated fields (text, labels, id), got ${fields.length}`)
    }
    const labels = labelList.split(",").map((piece) => (/^\d+$/.test(piece) ? Number(piece) : Number.NaN))
    const bad = labels.findIndex((label) => !(label < emotionCount))
    if (bad !== -1) return yield* fail("labels", `not a label id 0–${emotionCount - 1} (${quoteValue(labelList.split(",")[bad] ?? "")})`)
    if (new Set(labels).size !== labels.length) return yield* fail("labels", `an id repeats (${quoteValue(labelList)})`)
    examples.push({ text, labels, id })
  }
  if (examples.length === 0) return yield* new DataError({ file, line: 0, field: "", problem: "empty file" })
  return examples
})

/** Reads `dir`/{emotions.txt, ekman_mapping.json, train.tsv, dev.tsv, test.tsv}. */
export const readGoEmotions = Effect.fn("readGoEmotions")(function* (dir: string) {
  const emotions = yield* readEmotions(join(dir, "emotions.txt"))
  const ekman = yield* readEkmanMapping(join(dir, "ekman_mapping.json"), emotions)
  const [train, dev, test] = yield* Effect.forEach(SPLITS, (split) => readSplit(join(dir, `${split}.tsv`), emotions.length))
  const splits = { train: train ?? [], dev: dev ?? [], test: test ?? [] }
  const corpus: GoEmotionsCorpus = {
    emotions,
    ekman,
    splits,
    counts: { train: splits.train.length, dev: splits.dev.length, test: splits.test.length }
  }
  return corpus
})

export interface EkmanExample {
  readonly text: string
  /** Index into `classes`. */
  readonly label: number
  readonly id: string
}

export interface EkmanSplitCounts {
  readonly total: number
  readonly kept: number
  /** Dropped because a label maps to no class (neutral is in no class of the published mapping). */
  readonly droppedUnmapped: number
  /** Dropped because the labels map to two or more classes. */
  readonly droppedMixed: number
  readonly perClass: Readonly<Record<string, number>>
}

export interface EkmanCorpus {
  readonly classes: ReadonlyArray<string>
  readonly splits: Readonly<Record<Split, ReadonlyArray<EkmanExample>>>
  readonly counts: Readonly<Record<Split, EkmanSplitCounts>>
}

/**
 * Single-label Ekman examples. The rule: an example is kept only if every one of its labels maps
 * to a class and all of them map to the SAME class; an example with a label outside the mapping
 * (neutral, in the published mapping) or with labels in two classes is dropped. The classes are
 * the mapping's, in its order (a mapping that lists "neutral" as a class would keep neutral).
 */
export const goEmotionsToEkman = (corpus: GoEmotionsCorpus): EkmanCorpus => {
  const classes = corpus.ekman.map((entry) => entry.name)
  const classOfEmotion = corpus.emotions.map((emotion) => corpus.ekman.findIndex((entry) => entry.emotions.includes(emotion)))
  const convert = (examples: ReadonlyArray<GoEmotionsExample>) => {
    const kept: Array<EkmanExample> = []
    const perClass: Record<string, number> = Object.fromEntries(classes.map((name) => [name, 0]))
    let droppedUnmapped = 0
    let droppedMixed = 0
    for (const example of examples) {
      const mapped = example.labels.map((label) => classOfEmotion[label] ?? -1)
      if (mapped.includes(-1)) {
        droppedUnmapped++
        continue
      }
      const label = mapped[0] ?? -1
      if (label === -1 || mapped.some((other) => other !== label)) {
        droppedMixed++
        continue
      }
      kept.push({ text: example.text, label, id: example.id })
      const name = classes[label] ?? ""
      perClass[name] = (perClass[name] ?? 0) + 1
    }
    const counts: EkmanSplitCounts = { total: examples.length, kept: kept.length, droppedUnmapped, droppedMixed, perClass }
    return { kept, counts }
  }
  const train = convert(corpus.splits.train)
  const dev = convert(corpus.splits.dev)
  const test = convert(corpus.splits.test)
  return {
    classes,
    splits: { train: train.kept, dev: dev.kept, test: test.kept },
    counts: { train: train.counts, dev: dev.counts, test: test.counts }
  }
}
