/**
 * The report's plots as inline SVG, drawn here rather than by a charting library so the page
 * needs no script and no network. Each mark carries a stable class and data attributes
 * (`pca-point`, `pca-centroid`, `au-point`) that the tests count.
 */
import { coord, fixed, linear, niceTicks } from "./format.ts"
import { html, type Html } from "./html.ts"
import type { PcaResults } from "./results-schema.ts"

interface Box {
  readonly left: number
  readonly right: number
  readonly top: number
  readonly bottom: number
}

const overlaps = (a: Box, b: Box): boolean => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom

/** Width of a label in the plots' 12px system sans-serif, near enough to keep labels apart. */
const textWidth = (text: string, fontSize: number): number => text.length * fontSize * 0.56

const MINUS = "\u2212"
/** Tick labels use a true minus sign: "-0.2" beside "0.2" reads as a dash. */
const tickText = (text: string): string => text.replace(/^-/, MINUS)

// ---------------------------------------------------------------- PCA scatter (Fig. 2)

export interface PcaPlot {
  readonly model: string
  /** Position of the model in the results, for unique element ids. */
  readonly index: number
  readonly pca: PcaResults
  readonly colours: ReadonlyMap<string, string>
}

const PCA_WIDTH = 360
const PCA_HEIGHT = 300
const PCA_MARGIN = { left: 54, right: 8, top: 8, bottom: 42 }

interface Centroid {
  readonly label: string
  readonly x: number
  readonly y: number
  readonly count: number
}

/** Class centroids in the plotted plane, in order of first appearance. */
const centroids = (points: PcaResults["points"]): ReadonlyArray<Centroid> => {
  const sums = new Map<string, { x: number; y: number; count: number }>()
  for (const point of points) {
    const sum = sums.get(point.label) ?? { x: 0, y: 0, count: 0 }
    sum.x += point.x
    sum.y += point.y
    sum.count += 1
    sums.set(point.label, sum)
  }
  return [...sums].map(([label, sum]) => ({ label, x: sum.x / sum.count, y: sum.y / sum.count, count: sum.count }))
}

const diamond = (x: number, y: number, size: number): string =>
  `M${coord(x)} ${coord(y - size)}L${coord(x + size)} ${coord(y)}L${coord(x)} ${coord(y + size)}L${coord(x - size)} ${coord(y)}Z`

export const pcaScatter = ({ model, index, pca, colours }: PcaPlot): Html => {
  const plotWidth = PCA_WIDTH - PCA_MARGIN.left - PCA_MARGIN.right
  const plotHeight = PCA_HEIGHT - PCA_MARGIN.top - PCA_MARGIN.bottom
  const xs = pca.points.map((point) => point.x)
  const ys = pca.points.map((point) => point.y)
  const extent = (values: ReadonlyArray<number>): [number, number] =>
    values.length === 0 ? [-1, 1] : values.reduce<[number, number]>(([low, high], v) => [Math.min(low, v), Math.max(high, v)], [Infinity, -Infinity])
  const [x0, x1] = extent(xs)
  const [y0, y1] = extent(ys)
  // One data unit is the same length on both axes: PCA distances are the point of the plot, and
  // stretching PC2 to fill the box would exaggerate the separation along it.
  // A single point (or all on one spot) has no extent: give the plot one unit either side.
  const unitsPerPixel = Math.max((x1 - x0) / plotWidth, (y1 - y0) / plotHeight) * 1.08 || 2 / plotWidth
  const xCentre = (x0 + x1) / 2
  const yCentre = (y0 + y1) / 2
  const xDomain = [xCentre - (unitsPerPixel * plotWidth) / 2, xCentre + (unitsPerPixel * plotWidth) / 2] as const
  const yDomain = [yCentre - (unitsPerPixel * plotHeight) / 2, yCentre + (unitsPerPixel * plotHeight) / 2] as const
  const sx = linear(xDomain, [PCA_MARGIN.left, PCA_MARGIN.left + plotWidth])
  const sy = linear(yDomain, [PCA_MARGIN.top + plotHeight, PCA_MARGIN.top])
  const ticks = niceTicks(xDomain[0], xDomain[1], 5)
  const step = (ticks.values[1] ?? ticks.max) - (ticks.values[0] ?? ticks.min) || 1
  const within = (domain: readonly [number, number]): Array<number> => {
    const out: Array<number> = []
    for (let k = Math.ceil(domain[0] / step); k * step <= domain[1]; k++) out.push(k * step)
    return out
  }
  const [pc1 = 0, pc2 = 0] = pca.explainedVariance
  const titleId = `pca-${index}-title`
  const descId = `pca-${index}-desc`
  const bottom = PCA_MARGIN.top + plotHeight
  const right = PCA_MARGIN.left + plotWidth

  const gridX = within(xDomain).map(
    (value) => html`<line class="${Math.abs(value) < step / 1e6 ? "zero-line" : "grid"}" x1="${coord(sx(value))}" x2="${coord(sx(value))}" y1="${PCA_MARGIN.top}" y2="${bottom}"/><text class="tick" x="${coord(sx(value))}" y="${bottom + 14}" text-anchor="middle">${tickText(ticks.format(value))}</text>`
  )
  const gridY = within(yDomain).map(
    (value) => html`<line class="${Math.abs(value) < step / 1e6 ? "zero-line" : "grid"}" x1="${PCA_MARGIN.left}" x2="${right}" y1="${coord(sy(value))}" y2="${coord(sy(value))}"/><text class="tick" x="${PCA_MARGIN.left - 5}" y="${coord(sy(value) + 4)}" text-anchor="end">${tickText(ticks.format(value))}</text>`
  )
  // `carl eval` plots up to 1,500 points a model: smaller, fainter dots as they crowd, so
  // overlapping classes read as density rather than a solid blot.
  const crowding = Math.sqrt(300 / Math.max(pca.points.length, 300))
  const radius = coord(Math.max(1.3, 2.8 * crowding))
  const opacity = coord(Math.max(0.45, 0.8 * crowding))
  const points = pca.points.map(
    (point) =>
      html`<circle class="pca-point" data-model="${model}" data-label="${point.label}" cx="${coord(sx(point.x))}" cy="${coord(sy(point.y))}" r="${radius}" fill="${colours.get(point.label) ?? "#555555"}"><title>${point.label}</title></circle>`
  )
  const centres = centroids(pca.points).map(
    (centre) =>
      html`<path class="pca-centroid" data-model="${model}" data-label="${centre.label}" d="${diamond(sx(centre.x), sy(centre.y), 7)}" fill="${colours.get(centre.label) ?? "#555555"}"><title>centroid of ${centre.label} (${centre.count} points)</title></path>`
  )
  const labels = [...new Set(pca.points.map((point) => point.label))]

  return html`<svg class="plot pca-plot" viewBox="0 0 ${PCA_WIDTH} ${PCA_HEIGHT}" role="img" aria-labelledby="${titleId} ${descId}" data-model="${model}">
<title id="${titleId}">PCA of ${model}'s sentence embeddings, coloured by Ekman emotion</title>
<desc id="${descId}">${pca.points.length} points over ${labels.length} classes (${labels.join(", ")}); PC1 explains ${fixed(1)(pc1 * 100)}% and PC2 ${fixed(1)(pc2 * 100)}% of the variance. Diamonds mark class centroids.</desc>
<rect class="plot-area" x="${PCA_MARGIN.left}" y="${PCA_MARGIN.top}" width="${plotWidth}" height="${plotHeight}"/>
${gridX}${gridY}
<g class="points" fill-opacity="${opacity}">${points}</g>
<g class="centroids">${centres}</g>
${pca.points.length === 0 ? html`<text class="empty" x="${coord(PCA_MARGIN.left + plotWidth / 2)}" y="${coord(PCA_MARGIN.top + plotHeight / 2)}" text-anchor="middle">no points</text>` : ""}
<text class="axis-label" x="${coord(PCA_MARGIN.left + plotWidth / 2)}" y="${PCA_HEIGHT - 8}" text-anchor="middle">PC1 (${fixed(1)(pc1 * 100)}% of variance)</text>
<text class="axis-label" transform="translate(13 ${coord(PCA_MARGIN.top + plotHeight / 2)}) rotate(-90)" text-anchor="middle">PC2 (${fixed(1)(pc2 * 100)}% of variance)</text>
</svg>`
}

// ---------------------------------------------------------------- alignment–uniformity (Fig. 3)

export interface AuModel {
  readonly model: string
  readonly alignment: number
  readonly uniformity: number
  readonly colour: string
}

const AU_WIDTH = 720
const AU_HEIGHT = 430
const AU_MARGIN = { left: 66, right: 24, top: 36, bottom: 52 }
const AU_FONT = 13

/** Pads a range by a share of its span, so points do not sit on the frame. */
const padded = (values: ReadonlyArray<number>, share: number): [number, number] => {
  const low = Math.min(...values)
  const high = Math.max(...values)
  const pad = high > low ? (high - low) * share : Math.max(Math.abs(low) * 0.1, 0.05)
  return [low - pad, high + pad]
}

export const alignmentUniformityPlot = (models: ReadonlyArray<AuModel>): Html => {
  const plotWidth = AU_WIDTH - AU_MARGIN.left - AU_MARGIN.right
  const plotHeight = AU_HEIGHT - AU_MARGIN.top - AU_MARGIN.bottom
  const bottom = AU_MARGIN.top + plotHeight
  const right = AU_MARGIN.left + plotWidth
  const xTicks = niceTicks(...padded(models.map((m) => m.uniformity), 0.18), 6)
  const yTicks = niceTicks(...padded(models.map((m) => m.alignment), 0.18), 5)
  const sx = linear([xTicks.min, xTicks.max], [AU_MARGIN.left, right])
  const sy = linear([yTicks.min, yTicks.max], [bottom, AU_MARGIN.top])

  const grid = [
    ...xTicks.values.map(
      (value) => html`<line class="grid" x1="${coord(sx(value))}" x2="${coord(sx(value))}" y1="${AU_MARGIN.top}" y2="${bottom}"/><text class="tick" x="${coord(sx(value))}" y="${bottom + 16}" text-anchor="middle">${tickText(xTicks.format(value))}</text>`
    ),
    ...yTicks.values.map(
      (value) => html`<line class="grid" x1="${AU_MARGIN.left}" x2="${right}" y1="${coord(sy(value))}" y2="${coord(sy(value))}"/><text class="tick" x="${AU_MARGIN.left - 6}" y="${coord(sy(value) + 4)}" text-anchor="end">${tickText(yTicks.format(value))}</text>`
    )
  ]

  // Labels go right of their point, else left, nudged vertically until they clear every point
  // and every label already placed: models close in both measures are common (ablations).
  const placed: Array<Box> = models.map((m) => {
    const x = sx(m.uniformity)
    const y = sy(m.alignment)
    return { left: x - 7, right: x + 7, top: y - 7, bottom: y + 7 }
  })
  const order = models.map((m, i) => ({ m, i })).sort((a, b) => a.m.uniformity - b.m.uniformity || a.i - b.i)
  const labelAt = new Map<number, { x: number; y: number; anchor: "start" | "end" }>()
  for (const { m, i } of order) {
    const px = sx(m.uniformity)
    const py = sy(m.alignment)
    const width = textWidth(m.model, AU_FONT)
    let chosen: { x: number; y: number; anchor: "start" | "end" } | undefined
    for (const shift of [0, -15, 15, -30, 30, -45, 45, -60, 60]) {
      for (const anchor of ["start", "end"] as const) {
        const x = anchor === "start" ? px + 10 : px - 10
        const box: Box = {
          left: anchor === "start" ? x : x - width,
          right: anchor === "start" ? x + width : x,
          top: py + shift - AU_FONT * 0.75,
          bottom: py + shift + AU_FONT * 0.3
        }
        const inside = box.left >= AU_MARGIN.left && box.right <= right && box.top >= AU_MARGIN.top && box.bottom <= bottom
        if (inside && !placed.some((other) => overlaps(box, other))) {
          chosen = { x, y: py + shift + AU_FONT * 0.35, anchor }
          placed.push(box)
          break
        }
      }
      if (chosen !== undefined) break
    }
    labelAt.set(i, chosen ?? { x: px + 10, y: py + AU_FONT * 0.35, anchor: "start" })
  }

  const marks = models.map((m, i) => {
    const label = labelAt.get(i) ?? { x: 0, y: 0, anchor: "start" }
    const px = sx(m.uniformity)
    const py = sy(m.alignment)
    const leader =
      Math.abs(label.y - AU_FONT * 0.35 - py) > 1
        ? html`<line class="leader" x1="${coord(px)}" y1="${coord(py)}" x2="${coord(label.anchor === "start" ? label.x - 2 : label.x + 2)}" y2="${coord(label.y - AU_FONT * 0.35)}"/>`
        : ""
    return html`<g class="au-model">${leader}<circle class="au-point" data-model="${m.model}" cx="${coord(px)}" cy="${coord(py)}" r="6.5" fill="${m.colour}"><title>${m.model}: alignment ${fixed(4)(m.alignment)}, uniformity ${fixed(4)(m.uniformity)}</title></circle><text class="au-label" x="${coord(label.x)}" y="${coord(label.y)}" text-anchor="${label.anchor}" fill="${m.colour}">${m.model}</text></g>`
  })

  const corner = { x: AU_MARGIN.left + 14, y: bottom - 14 }
  return html`<svg class="plot au-plot" viewBox="0 0 ${AU_WIDTH} ${AU_HEIGHT}" role="img" aria-labelledby="au-title au-desc">
<title id="au-title">Alignment against uniformity, one point per model; lower-left is better</title>
<desc id="au-desc">${models.map((m) => `${m.model}: alignment ${fixed(4)(m.alignment)}, uniformity ${fixed(4)(m.uniformity)}`).join("; ")}.</desc>
<defs><marker id="au-arrow" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path class="better-arrow-head" d="M0 0L10 5L0 10Z"/></marker></defs>
<rect class="plot-area" x="${AU_MARGIN.left}" y="${AU_MARGIN.top}" width="${plotWidth}" height="${plotHeight}"/>
${grid}
<line class="better-arrow" x1="${coord(corner.x + 70)}" y1="${coord(corner.y - 50)}" x2="${coord(corner.x + 6)}" y2="${coord(corner.y - 4)}" marker-end="url(#au-arrow)"/>
<text class="better" x="${coord(corner.x + 74)}" y="${coord(corner.y - 54)}">better</text>
<text class="plot-note" x="${right}" y="${AU_MARGIN.top - 12}" text-anchor="end">Lower-left is better: aligned positives, uniformly spread embeddings (Wang &amp; Isola, 2020)</text>
${marks}
<text class="axis-label" x="${coord(AU_MARGIN.left + plotWidth / 2)}" y="${AU_HEIGHT - 10}" text-anchor="middle">Uniformity ℓ<tspan class="subscript" dy="3" font-size="10">uniform</tspan><tspan dy="-3"> (lower is better)</tspan></text>
<text class="axis-label" transform="translate(16 ${coord(AU_MARGIN.top + plotHeight / 2)}) rotate(-90)" text-anchor="middle">Alignment ℓ<tspan class="subscript" dy="3" font-size="10">align</tspan><tspan dy="-3"> (lower is better)</tspan></text>
</svg>`
}

// ---------------------------------------------------------------- at-a-glance dot plots

export interface DotRow {
  readonly model: string
  readonly colour: string
  readonly value: number | undefined
}

export interface DotPlot {
  readonly title: string
  readonly better: "higher" | "lower"
  readonly rows: ReadonlyArray<DotRow>
  readonly format: (value: number) => string
  /** Scale of the axis labels relative to the values (100 for fractions shown as percentages). */
  readonly axisScale?: number
}

/**
 * One headline metric, one dot per model on a shared axis: the spread between models is what a
 * reader wants from the first screen, and a dot (unlike a bar) may sit on an axis that does not
 * start at zero.
 */
export const dotPlot = (plot: DotPlot): Html => {
  const values = plot.rows.flatMap((row) => (row.value === undefined ? [] : [row.value]))
  if (values.length === 0) return html``
  const scale = plot.axisScale ?? 1
  const ticks = niceTicks(...padded(values.map((v) => v * scale), 0.12), 3)
  const position = linear([ticks.min / scale, ticks.max / scale], [0, 100])
  const best = plot.better === "higher" ? Math.max(...values) : Math.min(...values)
  const allTied = values.every((value) => plot.format(value) === plot.format(best))
  const rows = plot.rows.map((row) => {
    if (row.value === undefined)
      return html`<li class="dot-row missing"><span class="dot-name">${row.model}</span><span class="dot-track"></span><span class="dot-value">–</span></li>`
    const isBest = values.length > 1 && !allTied && plot.format(row.value) === plot.format(best)
    return html`<li class="dot-row${isBest ? " best" : ""}"><span class="dot-name">${row.model}</span><span class="dot-track"><span class="dot" style="left:${coord(position(row.value))}%;background:${row.colour}"></span></span><span class="dot-value">${plot.format(row.value)}</span></li>`
  })
  const axis = ticks.values.map(
    (value) => html`<span style="left:${coord(linear([ticks.min, ticks.max], [0, 100])(value))}%">${tickText(ticks.format(value))}</span>`
  )
  return html`<section class="glance-card"><h3>${plot.title} <span class="better-hint">${plot.better === "higher" ? "↑ higher is better" : "↓ lower is better"}</span></h3>
<ul class="dot-rows">${rows}</ul>
<div class="dot-axis" aria-hidden="true"><span class="dot-name"></span><span class="dot-ticks">${axis}</span><span class="dot-value"></span></div>
</section>`
}
