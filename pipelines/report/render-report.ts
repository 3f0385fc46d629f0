/**
 * The evaluation report: one self-contained HTML page from a results file. No script and no
 * network: CSS and SVG are inline, and a Content-Security-Policy forbids every fetch, so the page
 * looks the same offline, attached to an email or printed. Pure: the same results give the
 * same bytes.
 */
import { alignmentUniformityPlot, dotPlot, pcaScatter, type DotPlot } from "./charts.ts"
import { duration, fixed, grouped, percent, runDate, shortHash } from "./format.ts"
import { html, trusted, type Html } from "./html.ts"
import { labelColours, modelColour } from "./palette.ts"
import type { EvalResults, ModelResults } from "./results-schema.ts"
import { hasAnyValue, renderTable, type Column, type MetricTable, type TableRow } from "./tables.ts"
import { REPORT_CSS } from "./report-css.ts"

const three = fixed(3)
const four = fixed(4)

const column = (
  label: Html | string,
  title: string,
  better: Column["better"],
  value: Column["value"],
  format: Column["format"],
  mark?: Column["mark"]
): Column => ({
  label: typeof label === "string" ? html`${label}` : label,
  title,
  ...(better === undefined ? {} : { better }),
  value,
  format,
  ...(mark === undefined ? {} : { mark })
})

const POLARITY_TASKS = ["cr", "mr", "sst5", "imdb"] as const

/** The mean of the four polarity accuracies, only when a model has all four (else not comparable). */
const polarityMean = (model: ModelResults): number | undefined => {
  const values = POLARITY_TASKS.map((task) => model.tasks[task]?.accuracy)
  return values.every((value): value is number => value !== undefined)
    ? values.reduce((sum, value) => sum + value, 0) / values.length
    : undefined
}

const meanCentroidDistance = (model: ModelResults): number | undefined => {
  const distances = Object.values(model.tasks.align?.pca.centroidDistances ?? {})
  return distances.length === 0 ? undefined : distances.reduce((sum, d) => sum + d, 0) / distances.length
}

const unique = <A>(values: ReadonlyArray<A>): Array<A> => [...new Set(values)]

const defined = <A>(values: ReadonlyArray<A | undefined>): Array<A> => values.filter((value): value is A => value !== undefined)

// ---------------------------------------------------------------- Tables I–IV

const vaTable = (): MetricTable => {
  const regression = (dimension: "valence" | "arousal", label: string) => ({
    label,
    columns: [
      column(html`<i>r</i>`, `${label}: Pearson correlation`, "higher", (m) => m.tasks.va?.[dimension].pearson, three),
      column("ρ", `${label}: Spearman correlation`, "higher", (m) => m.tasks.va?.[dimension].spearman, three),
      column("MAE", `${label}: mean absolute error`, "lower", (m) => m.tasks.va?.[dimension].mae, three)
    ]
  })
  return {
    id: "table-va",
    number: "I",
    caption: "Valence and arousal regression on EmoBank",
    groups: [regression("valence", "Valence"), regression("arousal", "Arousal")],
    notes: [html`<i>r</i>: Pearson, ρ: Spearman correlation with the gold ratings; MAE: mean absolute error.`]
  }
}

/** Table I on each of the user's corpora (`carl eval --va-data`): in-domain and cross-corpus. */
const vaCorpusTables = (models: ReadonlyArray<ModelResults>): Array<MetricTable> => {
  const corpora = models.flatMap((model) => model.tasks.va?.corpora ?? [])
  const names = unique(corpora.map((corpus) => corpus.name))
  return names.map((name, index) => {
    const first = corpora.find((corpus) => corpus.name === name)
    const find = (m: ModelResults) => m.tasks.va?.corpora?.find((corpus) => corpus.name === name)
    const pair = (setting: "inDomain" | "crossCorpus", label: string) => ({
      label,
      columns: (["valence", "arousal"] as const).flatMap((dimension) => [
        column(html`${dimension === "valence" ? "V" : "A"} <i>r</i>`, `${label}: ${dimension} Pearson correlation`, "higher", (m) => find(m)?.[setting][dimension].pearson, three),
        column(html`${dimension === "valence" ? "V" : "A"} ρ`, `${label}: ${dimension} Spearman correlation`, "higher", (m) => find(m)?.[setting][dimension].spearman, three)
      ])
    })
    return {
      id: `table-va-corpus-${index + 1}`,
      caption: `Valence and arousal on ${name}`,
      groups: [pair("inDomain", `In-domain (${first?.inDomain.folds ?? 10}-fold)`), pair("crossCorpus", "Cross-corpus (fitted on EmoBank)")],
      notes: [
        html`${grouped(first?.examples ?? 0)} examples, labels on ${first?.scale.min ?? "?"}–${first?.scale.max ?? "?"} normalised to [−1, 1] (Eq. 12). In-domain: ridge cross-validated on this corpus alone; cross-corpus: the ridge fitted on EmoBank train (λ on its dev) predicting every example here.`
      ]
    } satisfies MetricTable
  })
}

const polarityTable = (models: ReadonlyArray<ModelResults>): MetricTable => {
  const capped = models.filter((model) => model.tasks.imdb?.maxExamples != null)
  const caps = unique(capped.map((model) => model.tasks.imdb?.maxExamples ?? 0))
  const folds = unique(defined(models.flatMap((model) => [model.tasks.mr?.folds, model.tasks.cr?.folds])))
  const notes: Array<Html> = [html`Accuracy in %.${folds.length === 0 ? "" : ` MR and CR: ${folds.join(" or ")}-fold cross-validation.`} Avg.: mean of the four, for models evaluated on all four.`]
  if (capped.length > 0) {
    notes.push(
      caps.length === 1
        ? html`<sup class="mark">†</sup> IMDB capped at ${grouped(caps[0] ?? 0)} examples (maxExamples), not the full 50,000 reviews.`
        : html`<sup class="mark">†</sup> IMDB capped at maxExamples: ${capped.map((model) => `${model.name} ${grouped(model.tasks.imdb?.maxExamples ?? 0)}`).join("; ")}.`
    )
  }
  return {
    id: "table-polarity",
    number: "II",
    caption: "Polarity classification (SentEval transfer tasks)",
    groups: [
      {
        label: "SentEval transfer tasks",
        columns: [
          column("CR", "CR accuracy (%)", "higher", (m) => m.tasks.cr?.accuracy, percent),
          column("MR", "MR accuracy (%)", "higher", (m) => m.tasks.mr?.accuracy, percent),
          column("SST-5", "SST-5 accuracy (%)", "higher", (m) => m.tasks.sst5?.accuracy, percent),
          column("IMDB", "IMDB accuracy (%)", "higher", (m) => m.tasks.imdb?.accuracy, percent, (m) =>
            m.tasks.imdb?.maxExamples == null ? undefined : "†"
          )
        ]
      },
      { columns: [column("Avg.", "Mean accuracy over CR, MR, SST-5 and IMDB (%)", "higher", polarityMean, percent)] }
    ],
    notes
  }
}

const ekmanTable = (models: ReadonlyArray<ModelResults>): MetricTable => {
  const first = models.find((model) => model.tasks.ekman !== undefined)?.tasks.ekman
  const notes: Array<Html> = [html`Accuracy in %; precision, recall and F1 are macro averages over the classes.`]
  if (first !== undefined) {
    notes.push(
      html`Classes: ${first.classes.join(", ")}. Sentences: train ${grouped(first.counts.train)}, dev ${grouped(first.counts.dev)}, test ${grouped(first.counts.test)}.`
    )
  }
  return {
    id: "table-ekman",
    number: "III",
    caption: "Emotion classification on GoEmotions, Ekman's six",
    groups: [
      {
        label: "Emotion classification metrics",
        columns: [
          column("Acc.", "Accuracy (%)", "higher", (m) => m.tasks.ekman?.accuracy, percent),
          column("P", "Precision (macro)", "higher", (m) => m.tasks.ekman?.precision, three),
          column("R", "Recall (macro)", "higher", (m) => m.tasks.ekman?.recall, three),
          column("F1", "F1 (macro)", "higher", (m) => m.tasks.ekman?.f1, three)
        ]
      }
    ],
    notes
  }
}

const alignTable = (models: ReadonlyArray<ModelResults>): MetricTable => {
  const first = models.find((model) => model.tasks.align !== undefined)?.tasks.align
  return {
    id: "table-align",
    number: "IV",
    caption: "Alignment and uniformity of the embeddings",
    groups: [
      {
        columns: [
          column("Alignment", "Alignment: mean squared distance between positive pairs", "lower", (m) => m.tasks.align?.alignment, four),
          column("Uniformity", "Uniformity: log mean Gaussian potential over random pairs", "lower", (m) => m.tasks.align?.uniformity, four),
          column("Centroid dist.", "Mean distance between Ekman class centroids", "higher", meanCentroidDistance, three)
        ]
      }
    ],
    notes: [
      html`Both measures after Wang &amp; Isola (2020), lower is better${first === undefined ? "" : `; ${grouped(first.positivePairs)} positive pairs (same GoEmotions label) and ${grouped(first.uniformityPairs)} random pairs`}. Centroid dist.: mean over class pairs, larger is better separated.`
    ]
  }
}

const timingTable = (): MetricTable => {
  const seconds = (label: string, value: Column["value"]): Column => column(label, `${label}: seconds`, undefined, value, duration)
  return {
    id: "table-timing",
    caption: "Run time per model",
    groups: [
      {
        columns: [
          seconds("Embedding", (m) => m.embeddingSeconds),
          column("Cache hits", "Embeddings read from the cache", undefined, (m) => m.cacheHits, grouped),
          seconds("VA", (m) => m.tasks.va?.seconds),
          seconds("MR", (m) => m.tasks.mr?.seconds),
          seconds("CR", (m) => m.tasks.cr?.seconds),
          seconds("SST-5", (m) => m.tasks.sst5?.seconds),
          seconds("IMDB", (m) => m.tasks.imdb?.seconds),
          seconds("Ekman", (m) => m.tasks.ekman?.seconds),
          seconds("Align", (m) => m.tasks.align?.seconds)
        ]
      }
    ]
  }
}

const tableOrNote = (table: MetricTable, rows: ReadonlyArray<TableRow>, what: string): Html =>
  hasAnyValue(table, rows.map((row) => row.model))
    ? renderTable(table, rows)
    : html`<p class="not-run" id="${table.id}">${table.number === undefined ? "" : `Table ${table.number}: `}no model in this run was evaluated on ${what}.</p>`

// ---------------------------------------------------------------- sections

const header = (results: EvalResults, rows: ReadonlyArray<TableRow>): Html => {
  const facts: ReadonlyArray<readonly [string, string]> = [
    ["Run", runDate(results.createdAt)],
    ["Seed", String(results.seed)],
    ["Backend", `${results.backend.name}, ${results.backend.threads} thread${results.backend.threads === 1 ? "" : "s"}`],
    ["Pooling", results.pooling],
    ["Max length", `${results.maxLength} tokens`],
    ["carl", results.carl]
  ]
  const datasets = Object.entries(results.data)
  const dataTable =
    datasets.length === 0
      ? html`<p class="not-run">No data files recorded.</p>`
      : html`<div class="table-wrap"><table class="data-files">
<caption>Data files</caption>
<thead><tr><th scope="col">Dataset</th><th scope="col">File</th><th scope="col">sha256</th><th scope="col">Examples</th></tr></thead>
<tbody>${datasets.map(
          ([name, file]) =>
            html`<tr><th scope="row">${name}</th><td class="path">${file.path}</td><td class="hash" title="${file.sha256}"><code>${shortHash(file.sha256)}</code></td><td class="counts">${Object.entries(file.counts).map(([key, count], i) => html`${i === 0 ? "" : html`<span class="sep"> · </span>`}<span class="count">${key} ${grouped(count)}</span>`)}</td></tr>`
        )}</tbody>
</table></div>`
  return html`<header class="page-header">
<p class="eyebrow">carl evaluation report</p>
<h1>${rows.length === 1 ? "One model" : `${rows.length} models`}, ${runDate(results.createdAt)}</h1>
<ul class="model-list" aria-label="Models">${rows.map((row) => html`<li><span class="swatch" style="background:${row.colour}"></span>${row.model.name}</li>`)}</ul>
${results.note === undefined ? "" : html`<p class="note" role="note"><strong>Note:</strong> ${results.note}</p>`}
<dl class="facts">${facts.map(([term, value]) => html`<div><dt>${term}</dt><dd>${value}</dd></div>`)}</dl>
${dataTable}
</header>`
}

const glance = (rows: ReadonlyArray<TableRow>): Html => {
  const plot = (title: string, better: DotPlot["better"], value: (model: ModelResults) => number | undefined, format: DotPlot["format"], axisScale = 1) => ({
    title,
    better,
    format,
    axisScale,
    rows: rows.map((row) => ({ model: row.model.name, colour: row.colour, value: value(row.model) }))
  })
  const plots: ReadonlyArray<DotPlot> = [
    plot("Polarity, mean accuracy (%)", "higher", polarityMean, percent, 100),
    plot("Valence, Pearson r", "higher", (m) => m.tasks.va?.valence.pearson ?? undefined, three),
    plot("Arousal, Pearson r", "higher", (m) => m.tasks.va?.arousal.pearson ?? undefined, three),
    plot("Ekman emotions, accuracy (%)", "higher", (m) => m.tasks.ekman?.accuracy, percent, 100),
    plot("Ekman emotions, macro F1", "higher", (m) => m.tasks.ekman?.f1, three),
    plot("Alignment", "lower", (m) => m.tasks.align?.alignment, four)
  ].filter((p) => p.rows.some((row) => row.value !== undefined))
  if (plots.length === 0) return html``
  return html`<section id="glance" aria-labelledby="glance-heading">
<h2 id="glance-heading">At a glance</h2>
<div class="glance-grid">${plots.map(dotPlot)}</div>
</section>`
}

const embeddingSpace = (rows: ReadonlyArray<TableRow>): Html => {
  const withAlign = rows.flatMap((row) => (row.model.tasks.align === undefined ? [] : [{ row, align: row.model.tasks.align }]))
  const table = tableOrNote(alignTable(rows.map((row) => row.model)), rows, "alignment and uniformity")
  if (withAlign.length === 0) {
    return html`<section id="embedding-space" aria-labelledby="space-heading"><h2 id="space-heading">Embedding space</h2>${table}</section>`
  }
  const ekmanClasses = rows.flatMap((row) => row.model.tasks.ekman?.classes ?? [])
  const pointLabels = withAlign.flatMap(({ align }) => align.pca.points.map((point) => point.label))
  // Classes named by the Ekman task first, in its order, so the legend reads as the paper's.
  const labels = unique([...ekmanClasses.filter((label) => pointLabels.includes(label)), ...[...new Set(pointLabels)].sort()])
  const colours = labelColours(labels)
  const legend = html`<ul class="legend" aria-label="Legend for the PCA plots">${labels.map(
    (label) => html`<li><span class="swatch" style="background:${colours.get(label) ?? "#555555"}"></span>${label}</li>`
  )}<li><span class="legend-centroid" aria-hidden="true"></span>class centroid</li></ul>`
  const pcaFigures = withAlign.map(({ row, align }) => {
    const index = rows.indexOf(row)
    const pairs = Object.entries(align.pca.centroidDistances).sort((a, b) => b[1] - a[1])
    const pairName = (key: string): string => key.split("|").join("–")
    const [farthest] = pairs
    const closest = pairs.at(-1)
    const [pc1 = 0, pc2 = 0] = align.pca.explainedVariance
    return html`<figure class="pca-figure">
<figcaption><span class="swatch" style="background:${row.colour}"></span><strong>${row.model.name}</strong> <span class="sub-caption">${align.pca.points.length} point${align.pca.points.length === 1 ? "" : "s"}; PC1 + PC2 explain ${fixed(1)((pc1 + pc2) * 100)}%</span></figcaption>
${pcaScatter({ model: row.model.name, index, pca: align.pca, colours })}
${farthest === undefined || closest === undefined ? "" : html`<p class="centroid-summary">Centroids farthest apart: ${pairName(farthest[0])} (${three(farthest[1])}); closest: ${pairName(closest[0])} (${three(closest[1])}).</p>`}
</figure>`
  })
  return html`<section id="embedding-space" aria-labelledby="space-heading">
<h2 id="space-heading">Embedding space</h2>
${table}
<figure class="au-figure" id="figure-au">
${alignmentUniformityPlot(withAlign.map(({ row, align }) => ({ model: row.model.name, alignment: align.alignment, uniformity: align.uniformity, colour: row.colour })))}
<figcaption>Alignment against uniformity, one point per model (cf. the paper's Fig. 3). Lower-left is better.</figcaption>
</figure>
<h3 id="pca-heading">PCA of the GoEmotions embeddings</h3>
<p class="lede">First two principal components of each model's embeddings, one point per sentence, coloured by Ekman emotion (cf. the paper's Fig. 2). Axes use equal units, so distances read true within a plot; each model has its own components, so compare shapes, not coordinates.</p>
${legend}
<div class="pca-grid">${pcaFigures}</div>
</section>`
}

export const renderReport = (results: EvalResults): string => {
  const rows: ReadonlyArray<TableRow> = results.models.map((model, i) => ({ model, colour: modelColour(i) }))
  const models = rows.map((row) => row.model)
  const title = `carl evaluation: ${models.map((model) => model.name).join(", ")} (${runDate(results.createdAt)})`
  const page = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="carl ${results.carl}">
<title>${title}</title>
<link rel="icon" href="data:,">
<style>${trusted(REPORT_CSS)}</style>
</head>
<body>
${header(results, rows)}
<main>
${glance(rows)}
<section id="affect" aria-labelledby="affect-heading">
<h2 id="affect-heading">Valence and arousal</h2>
${tableOrNote(vaTable(), rows, "valence and arousal")}
${vaCorpusTables(models).map((table) => renderTable(table, rows))}
</section>
<section id="polarity" aria-labelledby="polarity-heading">
<h2 id="polarity-heading">Polarity</h2>
${tableOrNote(polarityTable(models), rows, "polarity classification")}
</section>
<section id="emotion" aria-labelledby="emotion-heading">
<h2 id="emotion-heading">Emotion classification</h2>
${tableOrNote(ekmanTable(models), rows, "GoEmotions (Ekman)")}
</section>
${embeddingSpace(rows)}
<section id="run" aria-labelledby="run-heading">
<h2 id="run-heading">Run</h2>
${renderTable(timingTable(), rows)}
</section>
</main>
<footer class="page-footer">Written by carl ${results.carl} from the results of ${runDate(results.createdAt)}. Best value per column in <strong class="best-sample">bold</strong>; “–”: not evaluated; “n/a”: undefined, such as the correlation of constant predictions.</footer>
</body>
</html>
`
  return page.html
}
