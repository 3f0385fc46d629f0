/** The paper's Tables I–IV as plain-text tables, one row per model; a task not run is a column of dashes. */
import type { EvalResults, ModelResults } from "./eval-results.ts"

const DASH = "—"

const fixed = (value: number | undefined, digits: number): string =>
  value === undefined ? DASH : Number.isFinite(value) ? value.toFixed(digits) : "n/a"

const percent = (value: number | undefined): string => (value === undefined ? DASH : fixed(value * 100, 2))

const render = (title: string, header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((cell, c) => Math.max(cell.length, ...rows.map((row) => (row[c] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join("  ").trimEnd()
  const rule = widths.map((width) => "-".repeat(width)).join("  ")
  return [title, line(header), rule, ...rows.map(line)].join("\n")
}

const tableI = (models: ReadonlyArray<ModelResults>) =>
  render(
    "Table I: valence and arousal (EmoBank test; ridge regression, λ on dev)",
    ["Model", "V r", "V ρ", "V MAE", "A r", "A ρ", "A MAE"],
    models.map(({ name, tasks: { va } }) => [
      name,
      fixed(va?.valence.pearson, 3),
      fixed(va?.valence.spearman, 3),
      fixed(va?.valence.mae, 3),
      fixed(va?.arousal.pearson, 3),
      fixed(va?.arousal.spearman, 3),
      fixed(va?.arousal.mae, 3)
    ])
  )

/** Table I for each `--va-data` corpus: in-domain (10-fold on the corpus) and cross-corpus (fitted on EmoBank). */
const vaCorpusTables = (models: ReadonlyArray<ModelResults>): Array<string> => {
  const names = [...new Set(models.flatMap((model) => (model.tasks.va?.corpora ?? []).map((corpus) => corpus.name)))]
  return names.map((name) => {
    const first = models.flatMap((model) => model.tasks.va?.corpora ?? []).find((corpus) => corpus.name === name)
    const title = `Table I, ${name}: valence and arousal (${first?.examples ?? "?"} examples, scale ${first?.scale.min ?? "?"}–${first?.scale.max ?? "?"}; in-domain ${first?.inDomain.folds ?? 10}-fold, cross-corpus fitted on EmoBank train)`
    return render(
      title,
      ["Model", "in V r", "in V ρ", "in A r", "in A ρ", "cross V r", "cross V ρ", "cross A r", "cross A ρ"],
      models.map(({ name: model, tasks: { va } }) => {
        const corpus = va?.corpora?.find((entry) => entry.name === name)
        return [
          model,
          fixed(corpus?.inDomain.valence.pearson, 3),
          fixed(corpus?.inDomain.valence.spearman, 3),
          fixed(corpus?.inDomain.arousal.pearson, 3),
          fixed(corpus?.inDomain.arousal.spearman, 3),
          fixed(corpus?.crossCorpus.valence.pearson, 3),
          fixed(corpus?.crossCorpus.valence.spearman, 3),
          fixed(corpus?.crossCorpus.arousal.pearson, 3),
          fixed(corpus?.crossCorpus.arousal.spearman, 3)
        ]
      })
    )
  })
}

const tableII = (models: ReadonlyArray<ModelResults>) =>
  render(
    "Table II: polarity classification, accuracy % (logistic-regression probe)",
    ["Model", "CR", "MR", "SST5", "IMDB"],
    models.map(({ name, tasks }) => [name, percent(tasks.cr?.accuracy), percent(tasks.mr?.accuracy), percent(tasks.sst5?.accuracy), percent(tasks.imdb?.accuracy)])
  )

const tableIII = (models: ReadonlyArray<ModelResults>) =>
  render(
    "Table III: emotion classification (GoEmotions, Ekman's six; macro P, R, F1)",
    ["Model", "Acc %", "P", "R", "F1"],
    models.map(({ name, tasks: { ekman } }) => [name, percent(ekman?.accuracy), fixed(ekman?.precision, 3), fixed(ekman?.recall, 3), fixed(ekman?.f1, 3)])
  )

const tableIV = (models: ReadonlyArray<ModelResults>) =>
  render(
    "Table IV: alignment and uniformity (GoEmotions Ekman test; α = 2, t = 2)",
    ["Model", "Alignment", "Uniformity", "PCA var 1", "PCA var 2"],
    models.map(({ name, tasks: { align } }) => [
      name,
      fixed(align?.alignment, 4),
      fixed(align?.uniformity, 4),
      fixed(align?.pca.explainedVariance[0], 3),
      fixed(align?.pca.explainedVariance[1], 3)
    ])
  )

/** The tables whose tasks were run, separated by blank lines. */
export const formatTables = (results: EvalResults): string => {
  const ran = (key: keyof ModelResults["tasks"]) => results.models.some((model) => model.tasks[key] !== undefined)
  const tables: Array<string> = []
  if (ran("va")) tables.push(tableI(results.models), ...vaCorpusTables(results.models))
  if (ran("mr") || ran("cr") || ran("sst5") || ran("imdb")) tables.push(tableII(results.models))
  if (ran("ekman")) tables.push(tableIII(results.models))
  if (ran("align")) tables.push(tableIV(results.models))
  return tables.join("\n\n")
}
