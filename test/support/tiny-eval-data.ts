/**
 * A data folder laid out as ../shared/data (EmoBank, MR, CR, SST-5, GoEmotions, IMDB), a few
 * dozen made-up sentences per dataset, for tests of `carl eval`. Positive and negative words
 * follow the labels, so a probe has something to find.
 */
import { cp, mkdir, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { gzipSync } from "node:zlib"
import { tarEntry } from "./tar.ts"
import { SeededRandom } from "../../core/random.ts"
import { writeBadFile, type BadFile } from "./run-cli.ts"

const POSITIVE = ["great", "lovely", "wonderful", "happy", "brilliant", "delightful", "superb", "fun"]
const NEGATIVE = ["awful", "boring", "terrible", "sad", "dull", "horrible", "painful", "bad"]
const FILLER = ["the", "film", "day", "story", "food", "phone", "was", "really", "quite", "so", "and", "it"]

const sentence = (random: SeededRandom, positive: boolean, index: number): string => {
  const words = Array.from({ length: 4 + random.int(5) }, () => FILLER[random.int(FILLER.length)] ?? "the")
  const sentiment = positive ? POSITIVE : NEGATIVE
  words.splice(random.int(words.length), 0, sentiment[random.int(sentiment.length)] ?? "")
  return `${words.join(" ")} ${index}`
}

export const EMOTIONS = [
  "admiration", "amusement", "anger", "annoyance", "approval", "caring", "confusion", "curiosity", "desire", "disappointment",
  "disapproval", "disgust", "embarrassment", "excitement", "fear", "gratitude", "grief", "joy", "love", "nervousness",
  "optimism", "pride", "realization", "relief", "remorse", "sadness", "surprise", "neutral"
]

export const EKMAN_MAPPING: Readonly<Record<string, ReadonlyArray<string>>> = {
  anger: ["anger", "annoyance", "disapproval"],
  disgust: ["disgust"],
  fear: ["fear", "nervousness"],
  joy: ["joy", "amusement", "approval", "excitement", "gratitude", "love", "optimism", "relief", "pride", "admiration", "desire", "caring"],
  sadness: ["sadness", "disappointment", "embarrassment", "grief", "remorse"],
  surprise: ["surprise", "realization", "confusion", "curiosity"]
}

/** Per class, the word its sentences carry. */
const EKMAN_WORDS: Readonly<Record<string, string>> = {
  anger: "furious",
  disgust: "gross",
  fear: "scared",
  joy: "happy",
  sadness: "crying",
  surprise: "wow"
}

export interface TinyEvalDataCounts {
  readonly emobank: { readonly train: number; readonly dev: number; readonly test: number }
  readonly polarity: number
  readonly sst5: { readonly train: number; readonly dev: number; readonly test: number }
  /** Per Ekman class and split; every GoEmotions line is kept by the Ekman rule except `neutral` lines. */
  readonly ekmanPerClass: { readonly train: number; readonly dev: number; readonly test: number }
  readonly neutral: number
  readonly imdbPerPolarity: number
}

export const TINY_EVAL_COUNTS: TinyEvalDataCounts = {
  emobank: { train: 24, dev: 8, test: 8 },
  polarity: 20,
  sst5: { train: 30, dev: 10, test: 10 },
  ekmanPerClass: { train: 5, dev: 2, test: 3 },
  neutral: 2,
  imdbPerPolarity: 10
}

export const writeTinyEvalData = async (dir: string, seed = 7): Promise<void> => {
  const random = new SeededRandom(seed)
  const counts = TINY_EVAL_COUNTS
  const put = async (relative: string, content: string | Buffer) => {
    await mkdir(join(dir, relative, ".."), { recursive: true })
    await writeFile(join(dir, relative), content)
  }

  const emobank = ["id,split,V,A,D,text"]
  let row = 0
  for (const split of ["train", "dev", "test"] as const) {
    for (let i = 0; i < counts.emobank[split]; i++) {
      const positive = random.next() < 0.5
      const valence = positive ? 3.2 + random.next() : 1.8 + random.next()
      const arousal = 1.5 + 3 * random.next()
      emobank.push(`id${row},${split},${valence.toFixed(2)},${arousal.toFixed(2)},3.0,"${sentence(random, positive, row)}"`)
      row++
    }
  }
  await put("emobank/emobank.csv", `${emobank.join("\n")}\n`)

  const polarity = (positive: boolean, offset: number) =>
    Array.from({ length: counts.polarity }, (_, i) => `${sentence(random, positive, offset + i)} \n`).join("")
  await put("mr/rt-polarity.pos", polarity(true, 0))
  await put("mr/rt-polarity.neg", polarity(false, 100))
  await put("cr/senteval_tokenized/custrev.pos", polarity(true, 200))
  await put("cr/senteval_tokenized/custrev.neg", polarity(false, 300))

  for (const split of ["train", "dev", "test"] as const) {
    const lines = Array.from({ length: counts.sst5[split] }, (_, i) => {
      const label = i % 5
      return `${label} ${sentence(random, label >= 3, 400 + i)}`
    })
    await put(`sst5/stsa.fine.${split}`, `${lines.join("\n")}\n`)
  }

  await put("goemotions/emotions.txt", `${EMOTIONS.join("\n")}\n`)
  await put("goemotions/ekman_mapping.json", `${JSON.stringify(EKMAN_MAPPING, null, 2)}\n`)
  for (const split of ["train", "dev", "test"] as const) {
    const lines: Array<string> = []
    for (const [name, emotions] of Object.entries(EKMAN_MAPPING)) {
      for (let i = 0; i < counts.ekmanPerClass[split]; i++) {
        const emotion = emotions[i % emotions.length] ?? name
        lines.push(`${sentence(random, name === "joy", 600 + lines.length)} ${EKMAN_WORDS[name] ?? ""}\t${EMOTIONS.indexOf(emotion)}\tc${split}${lines.length}`)
      }
    }
    for (let i = 0; i < counts.neutral; i++) lines.push(`just a comment ${i}\t${EMOTIONS.indexOf("neutral")}\tn${split}${i}`)
    await put(`goemotions/${split}.tsv`, `${lines.join("\n")}\n`)
  }

  const entries: Array<Buffer> = [tarEntry("aclImdb/README", "Large Movie Review Dataset (fixture)")]
  for (const split of ["train", "test"]) {
    for (const [polarityName, ratings] of [
      ["neg", [1, 2, 3, 4]],
      ["pos", [7, 8, 9, 10]]
    ] as const) {
      for (let id = 0; id < counts.imdbPerPolarity; id++) {
        const text = `${sentence(random, polarityName === "pos", id)}. ${sentence(random, polarityName === "pos", id + 1)}.`
        entries.push(tarEntry(`aclImdb/${split}/${polarityName}/${id}_${ratings[id % 4] ?? 1}.txt`, text))
      }
    }
  }
  await put("imdb/aclImdb_train_test_text.tar.gz", gzipSync(Buffer.concat([...entries, Buffer.alloc(1024)])))
}

/**
 * The folder of one bad-input case of `carl eval`, `dir`: a copy of the valid data folder `base`
 * as `dir`/data with `content` put at `file` (relative to it), and where the case's results, its
 * embedding cache and its model (never loaded: the data fails first) would be.
 */
export const damagedEvalData = async (base: string, dir: string, file: string, content: BadFile) => {
  const dataDir = join(dir, "data")
  await cp(base, dataDir, { recursive: true })
  await writeBadFile(join(dataDir, file), content)
  return { dir, dataDir, out: join(dir, "out", "results.json"), cacheDir: join(dir, "cache"), model: join(dir, "no-model") }
}
