// carl serve's page: the valence–arousal plane and the PCA map of the reference corpus, updated
// as the user types. Everything comes from this server (/api/info once, /api/predict per pause in
// typing); text is only ever set as textContent.
"use strict"

const SVG = "http://www.w3.org/2000/svg"
const SIZE = 420
const PAD = 36
const $ = (id) => document.getElementById(id)

const element = (name, attributes, parent) => {
  const node = document.createElementNS(SVG, name)
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value))
  if (parent) parent.appendChild(node)
  return node
}

const label = (text, attributes, parent) => {
  const node = element("text", attributes, parent)
  node.textContent = text
  return node
}

// Valence red → grey → green, as the reference points' colour.
const valenceColour = (v) => {
  const t = Math.max(-1, Math.min(1, v))
  const mix = (a, b, f) => Math.round(a + (b - a) * f)
  const grey = [150, 156, 166]
  const end = t < 0 ? [200, 40, 40] : [22, 140, 70]
  const f = Math.abs(t)
  return `rgb(${mix(grey[0], end[0], f)}, ${mix(grey[1], end[1], f)}, ${mix(grey[2], end[2], f)})`
}

const fmt = (value, digits) => (typeof value === "number" && Number.isFinite(value) ? value.toFixed(digits) : "–")

let info
let plane // { toX, toY, point, ring }
let map // { toX, toY, point }

const drawPlane = () => {
  const svg = $("va-plane")
  svg.replaceChildren()
  const labels = info.reference.points.flatMap((p) => [Math.abs(p.valenceNorm), Math.abs(p.arousalNorm)])
  // The plane spans the labels the reference corpus uses (EmoBank's sit near neutral), symmetric, at most [−1, 1].
  const range = Math.min(1, Math.max(0.2, Math.ceil(Math.max(...labels) * 10) / 10))
  const toX = (v) => SIZE / 2 + (v / range) * (SIZE / 2 - PAD)
  const toY = (a) => SIZE / 2 - (a / range) * (SIZE / 2 - PAD)
  const title = element("title", {}, svg)
  title.textContent = "valence (right: positive) and arousal (up: excited)"
  for (const f of [-1, -0.5, 0.5, 1]) {
    element("line", { class: "grid", x1: toX(f * range), y1: PAD, x2: toX(f * range), y2: SIZE - PAD }, svg)
    element("line", { class: "grid", x1: PAD, y1: toY(f * range), x2: SIZE - PAD, y2: toY(f * range) }, svg)
  }
  element("line", { class: "axis", x1: PAD, y1: SIZE / 2, x2: SIZE - PAD, y2: SIZE / 2 }, svg)
  element("line", { class: "axis", x1: SIZE / 2, y1: PAD, x2: SIZE / 2, y2: SIZE - PAD }, svg)
  const scale = info.head.scale
  const nominal = (x) => (scale ? fmt(scale.min + ((x + 1) / 2) * (scale.max - scale.min), 2) : fmt(x, 2))
  label(`valence ${nominal(-range)}`, { x: PAD, y: SIZE / 2 - 6 }, svg)
  label(`${nominal(range)}`, { x: SIZE - PAD, y: SIZE / 2 - 6, "text-anchor": "end" }, svg)
  label(`arousal ${nominal(range)}`, { x: SIZE / 2 + 6, y: PAD + 4 }, svg)
  label(`${nominal(-range)}`, { x: SIZE / 2 + 6, y: SIZE - PAD }, svg)
  label("negative", { x: PAD, y: SIZE - 10 }, svg)
  label("positive", { x: SIZE - PAD, y: SIZE - 10, "text-anchor": "end" }, svg)
  label("calm", { x: SIZE / 2, y: SIZE - 10, "text-anchor": "middle" }, svg)
  label("excited", { x: SIZE / 2, y: 16, "text-anchor": "middle" }, svg)
  const dots = element("g", { "aria-hidden": "true" }, svg)
  for (const p of info.reference.points) {
    element("circle", { class: "reference", cx: toX(p.valenceNorm), cy: toY(p.arousalNorm), r: 2.2, fill: valenceColour(p.valenceNorm / range) }, dots)
  }
  const ring = element("circle", { class: "typed-ring", id: "va-ring", cx: toX(0), cy: toY(0), r: 11, visibility: "hidden" }, svg)
  const point = element("circle", { class: "typed", id: "va-point", cx: toX(0), cy: toY(0), r: 6, visibility: "hidden" }, svg)
  plane = { toX, toY, point, ring, range }
}

const drawMap = () => {
  const svg = $("map")
  svg.replaceChildren()
  const xs = info.reference.points.map((p) => p.x)
  const ys = info.reference.points.map((p) => p.y)
  const span = (values) => {
    const low = Math.min(...values)
    const high = Math.max(...values)
    const margin = (high - low) * 0.08 || 1
    return [low - margin, high + margin]
  }
  const [x0, x1] = span(xs)
  const [y0, y1] = span(ys)
  const toX = (x) => PAD / 2 + ((x - x0) / (x1 - x0)) * (SIZE - PAD)
  const toY = (y) => SIZE - PAD / 2 - ((y - y0) / (y1 - y0)) * (SIZE - PAD)
  const title = element("title", {}, svg)
  title.textContent = "the reference corpus on its first two principal components, coloured by gold valence"
  label(`PC1 (${fmt(info.reference.explained[0] * 100, 1)}% of the variance)`, { x: SIZE - 8, y: SIZE - 6, "text-anchor": "end" }, svg)
  label(`PC2 (${fmt(info.reference.explained[1] * 100, 1)}%)`, { x: 8, y: 14 }, svg)
  const dots = element("g", { "aria-hidden": "true" }, svg)
  for (const p of info.reference.points) element("circle", { class: "reference", cx: toX(p.x), cy: toY(p.y), r: 2.4, fill: valenceColour(p.valenceNorm * 2) }, dots)
  const point = element("circle", { class: "typed", id: "map-point", cx: toX(0), cy: toY(0), r: 6, visibility: "hidden" }, svg)
  map = { toX, toY, point }
  $("map-note").textContent = `${info.reference.size} sentences of ${info.reference.name}; green: positive, red: negative (gold valence). The typed text is the orange point.`
}

const showPrediction = (result) => {
  const { point, ring, toX, toY } = plane
  for (const node of [point, ring]) {
    node.setAttribute("cx", String(toX(Math.max(-plane.range, Math.min(plane.range, result.valenceNorm)))))
    node.setAttribute("cy", String(toY(Math.max(-plane.range, Math.min(plane.range, result.arousalNorm)))))
    node.setAttribute("visibility", "visible")
  }
  point.dataset.valence = String(result.valenceNorm)
  point.dataset.arousal = String(result.arousalNorm)
  map.point.setAttribute("cx", String(map.toX(result.map.x)))
  map.point.setAttribute("cy", String(map.toY(result.map.y)))
  map.point.setAttribute("visibility", "visible")
  const scale = info.head.scale
  const rows = [
    ["valence", scale ? `${fmt(result.valence, 2)} on ${scale.min}–${scale.max}  (${fmt(result.valenceNorm, 3)} on −1…1)` : fmt(result.valenceNorm, 3)],
    ["arousal", scale ? `${fmt(result.arousal, 2)} on ${scale.min}–${scale.max}  (${fmt(result.arousalNorm, 3)} on −1…1)` : fmt(result.arousalNorm, 3)]
  ]
  if (result.emotion) rows.push(["nearest emotion", `${result.emotion.name} (${fmt(result.emotion.probability * 100, 0)}%)`])
  const readout = $("readout")
  readout.replaceChildren()
  for (const [term, value] of rows) {
    const dt = document.createElement("dt")
    dt.textContent = term
    const dd = document.createElement("dd")
    dd.textContent = value
    readout.append(dt, dd)
  }
  const list = $("nearest")
  list.replaceChildren()
  for (const neighbour of result.nearest) {
    const item = document.createElement("li")
    item.textContent = neighbour.text
    const labels = document.createElement("span")
    labels.className = "labels"
    labels.textContent = `gold valence ${fmt(neighbour.valence ?? neighbour.valenceNorm, 2)}, arousal ${fmt(neighbour.arousal ?? neighbour.arousalNorm, 2)} · cosine ${fmt(neighbour.similarity, 3)}`
    item.appendChild(labels)
    list.appendChild(item)
  }
}

const status = (text, error) => {
  const node = $("status")
  node.textContent = text
  node.className = error ? "error" : ""
}

let pending
let timer
const predict = () => {
  const text = $("text").value
  if (text.trim() === "") {
    status("", false)
    return
  }
  if (pending) pending.abort()
  pending = new AbortController()
  const started = performance.now()
  fetch("/api/predict", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ text }), signal: pending.signal })
    .then(async (response) => {
      const body = await response.json()
      if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`)
      showPrediction(body)
      status(`updated in ${Math.round(performance.now() - started)} ms`, false)
      document.body.dataset.predictions = String(Number(document.body.dataset.predictions || "0") + 1)
    })
    .catch((error) => {
      if (error.name !== "AbortError") status(error.message, true)
    })
}

const selectTab = (selected) => {
  for (const [tab, panel] of [["tab-va", "panel-va"], ["tab-map", "panel-map"]]) {
    $(tab).setAttribute("aria-selected", String(tab === selected))
    $(panel).hidden = tab !== selected
  }
}

// While the server loads the model it answers 503: ask again until it is ready.
const loadInfo = () =>
  fetch("/api/info").then(async (response) => {
    if (response.status === 503) {
      status("the model is loading…", false)
      await new Promise((resolve) => setTimeout(resolve, 500))
      return loadInfo()
    }
    if (!response.ok) throw new Error(`HTTP ${response.status}`)
    return response.json()
  })

loadInfo()
  .then((body) => {
    status("", false)
    info = body
    const test = info.head.test
    $("model").textContent =
      `${info.model} · VA head fitted on ${info.head.corpus}` +
      (test ? ` (held-out r: valence ${fmt(test.valence.pearson, 3)}, arousal ${fmt(test.arousal.pearson, 3)})` : "") +
      (info.emotion ? ` · emotions: ${info.emotion.classes.join(", ")}` : "")
    $("footer").textContent = `Reference corpus: ${info.reference.size} sentences of ${info.reference.name}. Up to ${info.limits.maxTextChars} characters per text.`
    drawPlane()
    drawMap()
    document.body.dataset.ready = "true"
    $("text").addEventListener("input", () => {
      clearTimeout(timer)
      timer = setTimeout(predict, 150)
    })
    if ($("text").value.trim() !== "") predict()
  })
  .catch((error) => status(`cannot reach the server: ${error.message}`, true))

$("tab-va").addEventListener("click", () => selectTab("tab-va"))
$("tab-map").addEventListener("click", () => selectTab("tab-map"))
