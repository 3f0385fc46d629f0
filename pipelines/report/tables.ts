/**
 * Tables shaped like the paper's Tables I–IV: one row per model, grouped metric columns, the best
 * value of each column highlighted, "–" where a model was not evaluated on a task.
 */
import { html, type Html } from "./html.ts"
import type { ModelResults } from "./results-schema.ts"

export interface Column {
  readonly label: Html
  /** Spoken and hover form of a terse header such as "ρ". */
  readonly title: string
  /** Which way is better; columns without one (timings) highlight nothing. */
  readonly better?: "higher" | "lower"
  /** undefined: not evaluated; null: evaluated, but the metric is undefined (a correlation of constant predictions). */
  readonly value: (model: ModelResults) => number | null | undefined
  readonly format: (value: number) => string
  /** A footnote mark for one cell, such as "†" for a capped IMDB run. */
  readonly mark?: (model: ModelResults) => string | undefined
}

export interface ColumnGroup {
  readonly label?: string
  readonly columns: ReadonlyArray<Column>
}

export interface MetricTable {
  readonly id: string
  readonly number?: string
  readonly caption: string
  readonly groups: ReadonlyArray<ColumnGroup>
  readonly notes?: ReadonlyArray<Html>
}

export interface TableRow {
  readonly model: ModelResults
  readonly colour: string
}

const arrow = (better: Column["better"]): Html =>
  better === undefined
    ? html``
    : html` <span class="dir" aria-hidden="true">${better === "higher" ? "↑" : "↓"}</span>`

/**
 * The cells that read best. Compared as displayed, so two values that print the same are both
 * highlighted; one model alone, or a column where all tie, highlights nothing.
 */
const bestCells = (column: Column, rows: ReadonlyArray<TableRow>): ReadonlySet<number> => {
  if (column.better === undefined) return new Set()
  const shown = rows.map((row) => {
    const value = column.value(row.model)
    return value === undefined || value === null ? undefined : Number(column.format(value))
  })
  const present = shown.filter((value): value is number => value !== undefined)
  if (present.length < 2) return new Set()
  const best = column.better === "higher" ? Math.max(...present) : Math.min(...present)
  const winners = shown.flatMap((value, i) => (value === best ? [i] : []))
  // Everyone tied: marking every cell would say nothing.
  return winners.length === present.length ? new Set() : new Set(winners)
}

export const hasAnyValue = (table: MetricTable, models: ReadonlyArray<ModelResults>): boolean =>
  table.groups.some((group) => group.columns.some((column) => models.some((model) => column.value(model) !== undefined)))

export const renderTable = (table: MetricTable, rows: ReadonlyArray<TableRow>): Html => {
  const columns = table.groups.flatMap((group) => group.columns)
  const grouped = table.groups.some((group) => group.label !== undefined)
  const best = columns.map((column) => bestCells(column, rows))
  const columnHeader = (column: Column): Html =>
    html`<th scope="col" title="${column.title}"><span class="sr-only">${column.title}</span><span aria-hidden="true">${column.label}</span>${arrow(column.better)}</th>`
  const head = grouped
    ? html`<tr><th scope="col" rowspan="2" class="model-col">Model</th>${table.groups.map((group) =>
        group.label === undefined
          ? group.columns.map((column) => html`<th scope="col" rowspan="2" title="${column.title}">${column.label}${arrow(column.better)}</th>`)
          : html`<th scope="colgroup" colspan="${group.columns.length}">${group.label}</th>`
      )}</tr>
<tr>${table.groups.flatMap((group) => (group.label === undefined ? [] : group.columns.map(columnHeader)))}</tr>`
    : html`<tr><th scope="col" class="model-col">Model</th>${columns.map(columnHeader)}</tr>`
  const body = rows.map(
    (row, r) =>
      html`<tr><th scope="row"><span class="swatch" style="background:${row.colour}"></span>${row.model.name}</th>${columns.map((column, c) => {
        const value = column.value(row.model)
        if (value === undefined) return html`<td class="num missing" title="not evaluated">–</td>`
        if (value === null) return html`<td class="num undefined-value" title="undefined (constant predictions)">n/a</td>`
        const mark = column.mark?.(row.model)
        const text = html`${column.format(value)}${mark === undefined ? "" : html`<sup class="mark">${mark}</sup>`}`
        return best[c]?.has(r) === true
          ? html`<td class="num best" title="best in column"><strong>${text}</strong></td>`
          : html`<td class="num">${text}</td>`
      })}</tr>`
  )
  const notes = table.notes ?? []
  return html`<figure class="table-figure" id="${table.id}">
<div class="table-wrap"><table class="metrics">
<caption>${table.number === undefined ? "" : html`<span class="table-number">Table ${table.number}.</span> `}${table.caption}</caption>
<thead>${head}</thead>
<tbody>${body}</tbody>
</table></div>
${notes.length === 0 ? "" : html`<ul class="table-notes">${notes.map((note) => html`<li>${note}</li>`)}</ul>`}
</figure>`
}
