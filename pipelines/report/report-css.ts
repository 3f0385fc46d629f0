/**
 * The report's stylesheet. System fonts only (a web font would be a network request); colours
 * through custom properties so the dark scheme and print restyle the SVGs too.
 */
export const REPORT_CSS = `
:root {
  --bg: #ffffff; --fg: #1d2127; --muted: #5b6470; --faint: #8a939e; --rule: #dfe3e8; --grid: #edf0f3;
  --panel: #f6f7f9; --best-bg: #e3f1e6; --best-fg: #14532d; --note-bg: #fff6db; --note-rule: #e5c55a;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #14171b; --fg: #e6e9ed; --muted: #a3acb7; --faint: #6f7884; --rule: #2f353d; --grid: #242a31;
    --panel: #1b1f24; --best-bg: #17381f; --best-fg: #b7ebc3; --note-bg: #3a3217; --note-rule: #8a7325;
  }
  /* The model colours are chosen for white paper; on a dark page the dot keeps the colour. */
  .au-label { fill: var(--fg); }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0 auto; max-width: 1180px; padding: 28px 28px 48px;
  background: var(--bg); color: var(--fg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "Noto Sans", "Liberation Sans", Arial, sans-serif;
}
h1 { font-size: 1.7rem; line-height: 1.2; margin: 0 0 10px; letter-spacing: -0.01em; }
h2 { font-size: 1.25rem; margin: 40px 0 12px; padding-bottom: 6px; border-bottom: 1px solid var(--rule); }
h3 { font-size: 1.02rem; margin: 28px 0 8px; }
.eyebrow { margin: 0 0 4px; color: var(--muted); font-size: 0.8rem; text-transform: uppercase; letter-spacing: 0.08em; font-weight: 600; }
.lede { color: var(--muted); max-width: 78ch; margin: 0 0 10px; }
code { font: 0.86em/1 ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace; }
.sr-only { position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }

.swatch { display: inline-block; width: 0.7em; height: 0.7em; border-radius: 50%; margin-right: 0.45em; vertical-align: 0.02em; flex: none; }
.model-list { list-style: none; display: flex; flex-wrap: wrap; gap: 6px 18px; margin: 0 0 14px; padding: 0; font-weight: 600; }
.model-list li { display: flex; align-items: center; }
.note { background: var(--note-bg); border-left: 4px solid var(--note-rule); padding: 8px 12px; margin: 0 0 14px; border-radius: 3px; }
.facts { display: flex; flex-wrap: wrap; gap: 8px 28px; margin: 0 0 14px; padding: 10px 14px; background: var(--panel); border-radius: 6px; }
.facts div { display: flex; flex-direction: column; }
.facts dt { color: var(--muted); font-size: 0.75rem; text-transform: uppercase; letter-spacing: 0.06em; }
.facts dd { margin: 0; font-weight: 600; font-variant-numeric: tabular-nums; }

/* Positioned, so the absolutely placed screen-reader text in headers scrolls with the table
   instead of widening the page. */
.table-wrap { overflow-x: auto; position: relative; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
/* A caption is as wide as its table: keep narrow tables wide enough for theirs. */
table.metrics { min-width: min(100%, 34rem); }
caption { caption-side: top; text-align: left; font-weight: 600; padding: 0 0 6px; }
.table-number { color: var(--muted); font-variant: small-caps; letter-spacing: 0.04em; }
th, td { padding: 5px 12px; text-align: left; vertical-align: baseline; }
thead th { font-weight: 600; border-bottom: 1px solid var(--fg); white-space: nowrap; }
thead th[rowspan] { vertical-align: bottom; }
thead tr:first-child th { border-top: 2px solid var(--fg); }
thead th[scope="colgroup"] { text-align: center; border-bottom: 1px solid var(--rule); }
table.metrics thead tr:last-child th { border-bottom: 1px solid var(--fg); }
table.metrics thead th[scope="col"]:not(.model-col) { text-align: right; }
tbody th { font-weight: 500; white-space: nowrap; }
tbody tr:last-child > * { border-bottom: 2px solid var(--fg); }
tbody tr:hover { background: var(--panel); }
td.num { text-align: right; }
td.best { background: var(--best-bg); color: var(--best-fg); }
td.best strong { font-weight: 700; }
td.missing, td.undefined-value { color: var(--faint); }
.dir { color: var(--faint); font-weight: 400; font-size: 0.85em; }
sup.mark { color: var(--muted); font-size: 0.7em; margin-left: 1px; }
.table-figure { margin: 0 0 8px; }
.table-notes { list-style: none; margin: 6px 0 0; padding: 0; color: var(--muted); font-size: 0.85rem; max-width: 90ch; }
.not-run { color: var(--muted); font-style: italic; }
.best-sample { background: var(--best-bg); color: var(--best-fg); padding: 0 4px; border-radius: 2px; }

table.data-files { font-size: 0.88rem; }
table.data-files caption { font-size: 0.8rem; color: var(--muted); text-transform: uppercase; letter-spacing: 0.06em; }
table.data-files td.path { overflow-wrap: anywhere; min-width: 14em; color: var(--muted); }
table.data-files .count { white-space: nowrap; }
table.data-files .sep { color: var(--faint); }

.glance-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 14px 18px; }
.glance-card { background: var(--panel); border-radius: 8px; padding: 12px 16px 10px; }
.glance-card h3 { margin: 0 0 8px; font-size: 0.92rem; }
.better-hint { color: var(--faint); font-weight: 400; font-size: 0.8rem; margin-left: 4px; white-space: nowrap; }
.dot-rows { list-style: none; margin: 0; padding: 0; }
.dot-row, .dot-axis { display: grid; grid-template-columns: minmax(8em, 12em) 1fr 4em; align-items: center; gap: 10px; }
.dot-row { min-height: 24px; font-size: 0.86rem; }
.dot-name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.dot-row.best .dot-name, .dot-row.best .dot-value { font-weight: 700; }
.dot-value { text-align: right; font-variant-numeric: tabular-nums; }
.dot-row.missing .dot-value { color: var(--faint); }
.dot-track { position: relative; height: 2px; background: var(--rule); }
.dot { position: absolute; top: 50%; width: 12px; height: 12px; margin: -6px 0 0 -6px; border-radius: 50%; border: 2px solid var(--bg); box-sizing: content-box; }
.dot-axis { font-size: 0.72rem; color: var(--faint); margin-top: 2px; }
.dot-ticks { position: relative; height: 1.2em; }
.dot-ticks span { position: absolute; transform: translateX(-50%); white-space: nowrap; }

svg.plot { display: block; width: 100%; height: auto; font-family: inherit; overflow: visible; }
.plot-area { fill: none; stroke: var(--rule); }
.grid { stroke: var(--grid); stroke-width: 1; }
.zero-line { stroke: var(--rule); stroke-width: 1; }
.tick { fill: var(--muted); font-size: 11px; font-variant-numeric: tabular-nums; }
.axis-label { fill: var(--fg); font-size: 12px; }
.pca-plot .tick { font-size: 11.5px; }
.pca-plot .axis-label { font-size: 12.5px; }
.pca-point { stroke: var(--bg); stroke-width: 0.5; }
.pca-centroid { stroke: var(--fg); stroke-width: 1.6; }
.empty { fill: var(--faint); font-size: 13px; }
.au-point { stroke: var(--bg); stroke-width: 2; }
.au-label { font-size: 13px; font-weight: 600; paint-order: stroke; stroke: var(--bg); stroke-width: 4px; stroke-linejoin: round; }
.leader { stroke: var(--faint); stroke-width: 1; }
.plot-note { fill: var(--muted); font-size: 12px; }
.better { fill: var(--faint); font-size: 12px; font-style: italic; }
.better-arrow { stroke: var(--faint); stroke-width: 1.5; stroke-dasharray: 4 3; }
.better-arrow-head { fill: var(--faint); }

.au-figure { margin: 22px 0 0; max-width: 820px; }
.au-figure figcaption, .pca-figure .centroid-summary { color: var(--muted); font-size: 0.85rem; }
.legend { list-style: none; display: flex; flex-wrap: wrap; gap: 4px 16px; margin: 0 0 10px; padding: 0; font-size: 0.88rem; }
.legend li { display: flex; align-items: center; }
.legend .swatch { width: 0.75em; height: 0.75em; }
.legend-centroid { display: inline-block; width: 0.6em; height: 0.6em; margin: 0 0.55em 0 0.15em; border: 1.6px solid var(--fg); transform: rotate(45deg); }
.pca-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(330px, 1fr)); gap: 18px 22px; }
.pca-figure { margin: 0; }
.pca-figure figcaption { margin-bottom: 2px; }
.sub-caption { display: block; color: var(--muted); font-size: 0.82rem; }
.centroid-summary { margin: 4px 0 0; }

.page-footer { margin-top: 40px; padding-top: 12px; border-top: 1px solid var(--rule); color: var(--muted); font-size: 0.82rem; }

@media (max-width: 640px) {
  body { padding: 16px 14px 32px; font-size: 14px; }
  h1 { font-size: 1.35rem; }
  th, td { padding: 4px 8px; }
  .glance-grid, .pca-grid { grid-template-columns: 1fr; }
  .dot-row, .dot-axis { grid-template-columns: minmax(6em, 9em) 1fr 3.5em; }
}

@media print {
  :root { --bg: #ffffff; --fg: #000000; --muted: #444444; --faint: #777777; --rule: #bbbbbb; --grid: #e6e6e6; --panel: #f3f3f3; --best-bg: #e3f1e6; --best-fg: #000000; }
  body { max-width: none; padding: 0; font-size: 10pt; }
  h2 { break-after: avoid; margin-top: 18pt; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  figure, table, .glance-card, .pca-figure { break-inside: avoid; }
  tbody tr:hover { background: none; }
  .glance-grid { grid-template-columns: repeat(2, 1fr); }
  .dot-row, .dot-axis { grid-template-columns: minmax(6em, 10em) 1fr 3.5em; }
  .pca-grid { grid-template-columns: repeat(3, 1fr); }
  .table-wrap { overflow: visible; }
}
`
