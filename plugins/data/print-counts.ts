/**
 * Prints what the data plugins read from a data folder laid out like ../shared/data, so the
 * counts in docs/DATA.md can be reproduced:
 *
 *   npx tsx plugins/data/print-counts.ts [data-dir]     (default: ../shared/data beside the repo)
 */
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"
import { goEmotionsToEkman, readGoEmotions } from "./goemotions.ts"
import { readImdb } from "./imdb.ts"
import { readCr, readMr } from "./polarity-lines.ts"
import { readSst5 } from "./sst5.ts"
import { SPLITS } from "./types.ts"
import { readVaCorpus } from "./va-corpus.ts"

const repoRoot = fileURLToPath(new URL("../..", import.meta.url))
const dataDir = process.argv[2] ?? join(repoRoot, "..", "shared", "data")

const skippedText = (skipped: Readonly<Record<string, number>>) =>
  Object.entries(skipped)
    .filter(([, count]) => count > 0)
    .map(([reason, count]) => `${reason} ${count}`)
    .join(", ") || "none"

const program = Effect.gen(function* () {
  const emobank = yield* readVaCorpus(join(dataDir, "emobank", "emobank.csv"), { format: "emobank" })
  const perSplit = SPLITS.map((split) => `${split} ${emobank.examples.filter((example) => example.split === split).length}`)
  const scale = `${emobank.scale.min}–${emobank.scale.max}`
  console.log(`EmoBank: ${emobank.examples.length} examples (${perSplit.join(", ")}), scale ${scale}, skipped: ${skippedText(emobank.skipped)}`)

  const goEmotions = yield* readGoEmotions(join(dataDir, "goemotions"))
  const ekman = goEmotionsToEkman(goEmotions)
  console.log(`GoEmotions: ${SPLITS.map((split) => `${split} ${goEmotions.counts[split]}`).join(", ")}; ${goEmotions.emotions.length} label names`)
  console.log(`GoEmotions → Ekman (${ekman.classes.join(", ")}):`)
  for (const split of SPLITS) {
    const counts = ekman.counts[split]
    const perClass = Object.entries(counts.perClass).map(([name, count]) => `${name} ${count}`).join(", ")
    const dropped = `dropped: unmapped label ${counts.droppedUnmapped}, two or more classes ${counts.droppedMixed}`
    console.log(`  ${split}: kept ${counts.kept} of ${counts.total} (${dropped}); ${perClass}`)
  }

  const sst5 = yield* readSst5(join(dataDir, "sst5"))
  console.log(`SST-5: ${SPLITS.map((split) => `${split} ${sst5.counts[split].total} [${sst5.counts[split].perLabel.join(" ")}]`).join(", ")}`)

  for (const [name, corpus] of [
    ["MR", yield* readMr(join(dataDir, "mr"))],
    ["CR", yield* readCr(join(dataDir, "cr"))]
  ] as const) {
    const { posLines, negLines, pos, neg, emptyLines } = corpus.counts
    console.log(`${name}: lines pos ${posLines} + neg ${negLines} = ${posLines + negLines}; examples pos ${pos}, neg ${neg}; empty lines dropped ${emptyLines}`)
  }

  const started = Date.now()
  const imdb = yield* readImdb(join(dataDir, "imdb", "aclImdb_train_test_text.tar.gz"))
  for (const split of ["train", "test"] as const) {
    const { pos, neg, ratings } = imdb.counts[split]
    const stars = Object.entries(ratings).map(([rating, count]) => `${rating}★ ${count}`).join(", ")
    console.log(`IMDB ${split}: pos ${pos}, neg ${neg} (${stars})`)
  }
  console.log(`IMDB streamed in ${Date.now() - started} ms`)
})

Effect.runPromise(program).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error))
  process.exitCode = 1
})
