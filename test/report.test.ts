/**
 * The evaluation report: its tables against the fixture's numbers, escaping, missing tasks,
 * determinism, the results decoder's errors, and the page as Debian's headless Chromium renders
 * it (no console errors, no requests, the expected number of plotted points, a real screenshot).
 */
import assert from "node:assert/strict"
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { crc32, inflateSync } from "node:zlib"
import { after, before, describe, test } from "node:test"
import { Effect, Exit } from "effect"
import { parseResults, renderReport, writeReport, type EvalResults } from "../pipelines/report/index.ts"
import { CHROMIUM_SKIP, launchChromium, navigate, openPage, watchPage } from "./support/headless-chromium.ts"

const FIXTURE = fileURLToPath(new URL("fixtures/eval-results.json", import.meta.url))
const fixtureText = await readFile(FIXTURE, "utf8")
const fixture: EvalResults = Effect.runSync(parseResults(fixtureText, FIXTURE))

const BASE = "use-lite"
const CARL = "carl-use-lite"
const NO_TP = "carl-use-lite (w/o TP)"
const HOSTILE = "<script>alert(1)</script>"

/** A deep copy to edit: the decoded results are readonly, a test's variant is not. */
type Mutable<T> = { -readonly [K in keyof T]: Mutable<T[K]> }
const editable = (): Mutable<EvalResults> => JSON.parse(JSON.stringify(fixture)) as Mutable<EvalResults>
const decoded = (value: unknown): EvalResults => Effect.runSync(parseResults(JSON.stringify(value), "edited fixture"))

const modelOf = (results: Mutable<EvalResults>, name: string): Mutable<EvalResults>["models"][number] => {
  const model = results.models.find((m) => m.name === name)
  assert.ok(model !== undefined, name)
  return model
}

const ENTITIES: Readonly<Record<string, string>> = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'" }
const textOf = (markup: string): string => markup.replace(/<[^>]*>/g, "").replace(/&(?:amp|lt|gt|quot|#39);/g, (e) => ENTITIES[e] ?? e)

interface Cell {
  readonly text: string
  readonly best: boolean
  readonly missing: boolean
}

/** The body rows of one report table, by model name. Parses the report's own regular markup. */
const tableRows = (page: string, id: string): ReadonlyMap<string, ReadonlyArray<Cell>> => {
  const start = page.indexOf(`<figure class="table-figure" id="${id}">`)
  assert.ok(start >= 0, `no table #${id}`)
  const figure = page.slice(start, page.indexOf("</figure>", start))
  const body = figure.slice(figure.indexOf("<tbody>"), figure.indexOf("</tbody>"))
  const rows = new Map<string, ReadonlyArray<Cell>>()
  for (const row of body.split("<tr>").slice(1)) {
    const header = /<th scope="row">(.*?)<\/th>/.exec(row)
    assert.ok(header?.[1] !== undefined, `a row without a header in #${id}`)
    const cells = [...row.matchAll(/<td class="([^"]*)"[^>]*>(.*?)<\/td>/g)].map((match) => ({
      text: textOf(match[2] ?? ""),
      best: (match[1] ?? "").split(" ").includes("best"),
      missing: (match[1] ?? "").split(" ").includes("missing")
    }))
    rows.set(textOf(header[1]), cells)
  }
  return rows
}

const cellTexts = (rows: ReadonlyMap<string, ReadonlyArray<Cell>>, model: string): Array<string> =>
  (rows.get(model) ?? assert.fail(`no row for ${model}`)).map((cell) => cell.text)

/** For each column, the models whose cell is highlighted. */
const bestByColumn = (rows: ReadonlyMap<string, ReadonlyArray<Cell>>): Array<Array<string>> => {
  const columns = Math.max(...[...rows.values()].map((cells) => cells.length))
  return Array.from({ length: columns }, (_, c) => [...rows].flatMap(([model, cells]) => (cells[c]?.best === true ? [model] : [])))
}

const count = (text: string, pattern: RegExp): number => [...text.matchAll(pattern)].length

const pct = (value: number): string => (value * 100).toFixed(2)
const f3 = (value: number | null): string => (value === null ? "n/a" : value.toFixed(3))
const f4 = (value: number): string => value.toFixed(4)

describe("renderReport on the fixture", () => {
  const page = renderReport(fixture)

  test("Table I (valence and arousal) has every model's six numbers, best per column highlighted", () => {
    const rows = tableRows(page, "table-va")
    assert.deepEqual([...rows.keys()], [BASE, CARL, NO_TP])
    for (const model of fixture.models) {
      const va = model.tasks.va
      assert.ok(va !== undefined)
      const expected = [va.valence, va.arousal].flatMap((d) => [f3(d.pearson), f3(d.spearman), f3(d.mae)])
      assert.deepEqual(cellTexts(rows, model.name), expected, model.name)
    }
    // Arousal MAE: 0.0897 and 0.0903 both print as 0.090, and both are marked.
    assert.deepEqual(bestByColumn(rows), [[CARL], [CARL], [CARL], [CARL], [CARL], [CARL, NO_TP]])
    for (const header of ["Valence", "Arousal", "MAE", "ρ"]) assert.ok(page.includes(header), header)
  })

  test("Table II (polarity) has CR, MR, SST-5, IMDB and their mean, with the IMDB cap footnoted", () => {
    const rows = tableRows(page, "table-polarity")
    for (const model of fixture.models) {
      const { cr, mr, sst5, imdb } = model.tasks
      assert.ok(cr !== undefined && mr !== undefined && sst5 !== undefined && imdb !== undefined)
      const mean = (cr.accuracy + mr.accuracy + sst5.accuracy + imdb.accuracy) / 4
      assert.deepEqual(cellTexts(rows, model.name), [pct(cr.accuracy), pct(mr.accuracy), pct(sst5.accuracy), `${pct(imdb.accuracy)}†`, pct(mean)])
    }
    assert.deepEqual(bestByColumn(rows), [[NO_TP], [CARL], [CARL], [CARL], [CARL]])
    assert.match(page, /IMDB capped at 5,000 examples/)
    assert.match(page, /10-fold cross-validation/)
  })

  test("Table III (Ekman emotions) has accuracy, precision, recall and F1", () => {
    const rows = tableRows(page, "table-ekman")
    for (const model of fixture.models) {
      const ekman = model.tasks.ekman
      assert.ok(ekman !== undefined)
      assert.deepEqual(cellTexts(rows, model.name), [pct(ekman.accuracy), f3(ekman.precision), f3(ekman.recall), f3(ekman.f1)])
    }
    assert.deepEqual(bestByColumn(rows), [[CARL], [CARL], [CARL], [CARL]])
    assert.match(page, /Classes: anger, disgust, fear, joy, sadness, surprise\./)
  })

  test("Table IV (alignment, uniformity) marks the lowest of each as best", () => {
    const rows = tableRows(page, "table-align")
    for (const model of fixture.models) {
      const align = model.tasks.align
      assert.ok(align !== undefined)
      assert.deepEqual(cellTexts(rows, model.name).slice(0, 2), [f4(align.alignment), f4(align.uniformity)])
    }
    const [alignment, uniformity] = bestByColumn(rows)
    assert.deepEqual(alignment, [NO_TP])
    assert.deepEqual(uniformity, [CARL])
  })

  test("the header names the run: date, seed, backend, pooling, data files with short hashes and counts", () => {
    const header = page.slice(page.indexOf("<header"), page.indexOf("</header>"))
    for (const text of ["2025-11-28 14:05 UTC", ">42<", "wasm, 8 threads", ">mean<", "128 tokens", "FIXTURE"]) {
      assert.ok(header.includes(text), text)
    }
    for (const [name, file] of Object.entries(fixture.data)) {
      assert.ok(header.includes(`<th scope="row">${name}</th>`), name)
      assert.ok(header.includes(`${file.sha256.slice(0, 12)}…`), `${name}: short hash`)
      for (const [key, n] of Object.entries(file.counts)) assert.ok(header.includes(`${key} ${n.toLocaleString("en-US")}`), `${name}: ${key}`)
    }
  })

  test("plots: one PCA point per fixture point, centroids per class, one alignment–uniformity point per model", () => {
    for (const model of fixture.models) {
      const points = model.tasks.align?.pca.points ?? []
      assert.equal(points.length, 150)
      assert.equal(count(page, new RegExp(`class="pca-point" data-model="${model.name.replace(/[()]/g, "\\$&")}"`, "g")), points.length)
      assert.equal(count(page, new RegExp(`class="pca-centroid" data-model="${model.name.replace(/[()]/g, "\\$&")}"`, "g")), 6)
    }
    assert.equal(count(page, /class="au-point"/g), fixture.models.length)
    assert.match(page, /PC1 \(14\.2% of variance\)/)
    assert.match(page, /Lower-left is better/)
  })

  test("accessible structure: SVG titles, table captions, scoped headers", () => {
    const svgs = [...page.matchAll(/<svg class="plot[^"]*"[^>]*>\s*<title id="[^"]+">[^<]+<\/title>/g)]
    assert.equal(svgs.length, count(page, /<svg/g))
    assert.equal(svgs.length, fixture.models.length + 1)
    assert.equal(count(page, /<table/g), count(page, /<caption>/g))
    assert.equal(count(page, /<th(?=[\s>])/g), count(page, /<th scope="(?:col|row|colgroup)"/g))
    assert.match(page, /<html lang="en">/)
  })

  test("self-contained: no script, no external reference, a CSP that forbids fetching", () => {
    assert.doesNotMatch(page, /<script/i)
    assert.doesNotMatch(page, /(?:src|href)\s*=\s*"(?!data:|#)/i)
    assert.doesNotMatch(page, /https?:\/\//i)
    assert.doesNotMatch(page, /@import|url\((?!#)/i)
    assert.match(page, /Content-Security-Policy" content="default-src 'none'/)
  })

  test("deterministic: the same results give the same bytes", () => {
    assert.equal(renderReport(decoded(fixture)), page)
    assert.equal(renderReport(fixture), page)
  })
})

describe("renderReport on hostile and partial results", () => {
  test(`a model named ${HOSTILE} renders as text, and so does every other string from the file`, () => {
    const results = editable()
    modelOf(results, CARL).name = HOSTILE
    const payload = `"'><img src=x onerror=alert(2)>`
    results.note = payload
    results.pooling = payload
    results.backend.name = payload
    results.data[payload] = { path: payload, sha256: payload, counts: { [payload]: 1 } }
    const align = modelOf(results, BASE).tasks.align
    assert.ok(align !== undefined)
    const [first] = align.pca.points
    assert.ok(first !== undefined)
    first.label = payload
    const page = renderReport(decoded(results))
    assert.doesNotMatch(page, /<script/i)
    assert.doesNotMatch(page, /<img/i)
    assert.ok(page.includes("&lt;script&gt;alert(1)&lt;/script&gt;"))
    assert.ok(page.includes(`data-model="&lt;script&gt;alert(1)&lt;/script&gt;"`))
    assert.ok(page.includes(`data-label="&quot;&#39;&gt;&lt;img src=x onerror=alert(2)&gt;"`))
    assert.ok(tableRows(page, "table-polarity").has(HOSTILE))
  })

  test("a task a model was not evaluated on shows – and takes no part in the highlighting", () => {
    const results = editable()
    delete modelOf(results, NO_TP).tasks.imdb
    delete modelOf(results, NO_TP).tasks.va
    delete modelOf(results, BASE).tasks.align
    delete modelOf(results, CARL).tasks.mr
    const page = renderReport(decoded(results))
    const polarity = tableRows(page, "table-polarity")
    assert.deepEqual(cellTexts(polarity, NO_TP).slice(3), ["–", "–"])
    assert.ok(polarity.get(NO_TP)?.[3]?.missing)
    assert.deepEqual(cellTexts(polarity, CARL).slice(1, 2), ["–"])
    // MR without carl-use-lite: the ablation's 77.02 is now the best.
    assert.deepEqual(bestByColumn(polarity)[1], [NO_TP])
    // Avg. needs all four tasks: only use-lite has them, and one value is not a contest.
    assert.deepEqual(bestByColumn(polarity)[4], [])
    assert.deepEqual(cellTexts(tableRows(page, "table-va"), NO_TP), ["–", "–", "–", "–", "–", "–"])
    assert.deepEqual(cellTexts(tableRows(page, "table-align"), BASE), ["–", "–", "–"])
    assert.equal(count(page, /class="au-point"/g), 2)
    assert.equal(count(page, /class="pca-point" data-model="use-lite"/g), 0)
    assert.equal(count(page, /class="pca-point"/g), 300)
  })

  test("an undefined correlation (null in the file) shows n/a and is not a contender", () => {
    const results = editable()
    const va = modelOf(results, CARL).tasks.va
    assert.ok(va !== undefined)
    va.valence.pearson = null
    const rows = tableRows(renderReport(decoded(results)), "table-va")
    assert.equal(cellTexts(rows, CARL)[0], "n/a")
    assert.deepEqual(bestByColumn(rows)[0], [NO_TP])
  })

  test("a task no model ran is a sentence, not a table of dashes; one model highlights nothing", () => {
    const results = editable()
    results.models = results.models.slice(0, 1)
    const only = results.models[0]
    assert.ok(only !== undefined)
    delete only.tasks.va
    delete only.tasks.align
    const page = renderReport(decoded(results))
    assert.match(page, /no model in this run was evaluated on valence and arousal/)
    assert.match(page, /no model in this run was evaluated on alignment and uniformity/)
    assert.doesNotMatch(page, /class="num best"/)
    assert.doesNotMatch(page, /<svg class="plot/)
  })
})

describe("results decoding and writeReport", () => {
  let dir = ""
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "carl-report-"))
  })
  after(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  const failure = (text: string): string => Effect.runSync(Effect.flip(parseResults(text, "results.json"))).message

  test("a wrong value is one line naming the field, the value and the model", () => {
    const results = editable()
    const mr = modelOf(results, CARL).tasks.mr
    assert.ok(mr !== undefined)
    mr.accuracy = 77.94
    assert.equal(
      failure(JSON.stringify(results)),
      "results.json: field 'models[1].tasks.mr.accuracy': Expected a value between 0 and 1, got 77.94 (model 'carl-use-lite')"
    )
  })

  test("a missing field and a file that is not JSON are one line too", () => {
    const results = editable() as Partial<Mutable<EvalResults>>
    delete results.seed
    assert.equal(failure(JSON.stringify(results)), "results.json: field 'seed': Missing key")
    const message = failure("{ \"carl\": ")
    assert.match(message, /^results\.json: not valid JSON \(/)
    assert.ok(!message.includes("\n"))
  })

  test("writeReport writes the rendered page, and writes nothing from a bad file", async () => {
    const output = join(dir, "report.html")
    await Effect.runPromise(writeReport(FIXTURE, output))
    assert.equal(await readFile(output, "utf8"), renderReport(fixture))
    const bad = join(dir, "bad.json")
    await writeFile(bad, JSON.stringify({ ...fixture, models: [] }))
    const exit = await Effect.runPromiseExit(writeReport(bad, join(dir, "bad.html")))
    assert.ok(Exit.isFailure(exit))
    assert.deepEqual((await readdir(dir)).sort(), ["bad.json", "report.html"])
  })
})

// ---------------------------------------------------------------- in a real browser

interface PngSummary {
  readonly width: number
  readonly height: number
  readonly colours: number
  readonly inkShare: number
}

/**
 * Checks every chunk's CRC, inflates the image data, undoes the row filters and counts colours:
 * a blank or truncated screenshot fails here, not just a missing file.
 */
const readPng = (png: Buffer): PngSummary => {
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "PNG signature")
  let offset = 8
  let width = 0
  let height = 0
  let channels = 0
  const data: Array<Buffer> = []
  let ended = false
  while (offset < png.length) {
    const length = png.readUInt32BE(offset)
    const type = png.toString("latin1", offset + 4, offset + 8)
    const body = png.subarray(offset + 8, offset + 8 + length)
    assert.equal(png.readUInt32BE(offset + 8 + length), crc32(png.subarray(offset + 4, offset + 8 + length)), `${type} CRC`)
    if (type === "IHDR") {
      width = body.readUInt32BE(0)
      height = body.readUInt32BE(4)
      assert.equal(body[8], 8, "bit depth")
      channels = body[9] === 6 ? 4 : body[9] === 2 ? 3 : assert.fail(`colour type ${body[9]}`)
    } else if (type === "IDAT") data.push(body)
    else if (type === "IEND") ended = true
    offset += 12 + length
  }
  assert.ok(ended, "IEND")
  const raw = inflateSync(Buffer.concat(data))
  const stride = width * channels
  assert.equal(raw.length, height * (stride + 1), "image data length")
  const pixels = Buffer.alloc(height * stride)
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]
    for (let x = 0; x < stride; x++) {
      const value = raw[y * (stride + 1) + 1 + x] ?? 0
      const left = x >= channels ? (pixels[y * stride + x - channels] ?? 0) : 0
      const up = y > 0 ? (pixels[(y - 1) * stride + x] ?? 0) : 0
      const upLeft = x >= channels && y > 0 ? (pixels[(y - 1) * stride + x - channels] ?? 0) : 0
      const p = left + up - upLeft
      const paeth =
        Math.abs(p - left) <= Math.abs(p - up) && Math.abs(p - left) <= Math.abs(p - upLeft) ? left : Math.abs(p - up) <= Math.abs(p - upLeft) ? up : upLeft
      const predictor = filter === 0 ? 0 : filter === 1 ? left : filter === 2 ? up : filter === 3 ? (left + up) >> 1 : paeth
      pixels[y * stride + x] = (value + predictor) & 0xff
    }
  }
  const colours = new Set<number>()
  let ink = 0
  for (let i = 0; i < pixels.length; i += channels) {
    const [r = 0, g = 0, b = 0] = [pixels[i], pixels[i + 1], pixels[i + 2]]
    if (colours.size < 10_000) colours.add((r << 16) | (g << 8) | b)
    if (r + g + b < 3 * 235) ink++
  }
  return { width, height, colours: colours.size, inkShare: ink / (width * height) }
}

interface PageSummary {
  readonly title: string
  readonly captions: ReadonlyArray<string>
  readonly pcaPoints: Readonly<Record<string, number>>
  readonly auPoints: number
  readonly plots: ReadonlyArray<{ readonly title: string; readonly width: number }>
  readonly scripts: number
  readonly scrollWidth: number
}

const SUMMARY = `(() => {
  const pcaPoints = {}
  for (const point of document.querySelectorAll(".pca-point")) {
    const model = point.getAttribute("data-model")
    pcaPoints[model] = (pcaPoints[model] || 0) + 1
  }
  return {
    title: document.title,
    captions: [...document.querySelectorAll("table.metrics caption")].map((caption) => caption.textContent.trim()),
    pcaPoints,
    auPoints: document.querySelectorAll(".au-point").length,
    plots: [...document.querySelectorAll("svg.plot")].map((svg) => ({
      title: svg.querySelector(":scope > title")?.textContent ?? "",
      width: svg.getBoundingClientRect().width
    })),
    scripts: document.scripts.length,
    scrollWidth: document.documentElement.scrollWidth
  }
})()`

describe("the report in headless Chromium", { skip: CHROMIUM_SKIP }, () => {
  test("renders with no console errors, no requests, every point plotted, and a real screenshot", { timeout: 30_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), "carl-report-browser-"))
    const browser = await launchChromium({ userDataDir: join(dir, "profile") })
    try {
      const reportPath = join(dir, "report.html")
      await Effect.runPromise(writeReport(FIXTURE, reportPath))
      const hostile = editable()
      modelOf(hostile, CARL).name = HOSTILE
      const hostilePath = join(dir, "hostile.html")
      await writeFile(hostilePath, renderReport(decoded(hostile)))

      const { sessionId } = await openPage(browser)
      const { problems, requests, consoleTypes } = await watchPage(browser, sessionId)
      await browser.send("Emulation.setDeviceMetricsOverride", { width: 1280, height: 2000, deviceScaleFactor: 1, mobile: false }, sessionId)

      const load = async (path: string): Promise<PageSummary> => {
        await navigate(browser, sessionId, pathToFileURL(path).href)
        const { result } = await browser.send<{ result: { value: PageSummary } }>(
          "Runtime.evaluate",
          { expression: SUMMARY, returnByValue: true },
          sessionId
        )
        return result.value
      }

      const page = await load(reportPath)
      assert.match(page.title, /^carl evaluation: use-lite, carl-use-lite, carl-use-lite \(w\/o TP\)/)
      assert.deepEqual(
        page.captions.map((caption) => caption.split(".")[0]),
        ["Table I", "Table II", "Table III", "Table IV", "Run time per model"]
      )
      assert.deepEqual(page.pcaPoints, Object.fromEntries(fixture.models.map((m) => [m.name, m.tasks.align?.pca.points.length])))
      assert.equal(page.auPoints, fixture.models.length)
      assert.equal(page.plots.length, fixture.models.length + 1)
      for (const plot of page.plots) {
        assert.ok(plot.title.length > 0, "an SVG without a title")
        assert.ok(plot.width > 250, `${plot.title}: drawn ${plot.width}px wide`)
      }
      assert.equal(page.scripts, 0)
      assert.ok(page.scrollWidth <= 1280, `the page scrolls sideways at 1280px (${page.scrollWidth}px)`)

      const shot = await browser.send<{ data: string }>("Page.captureScreenshot", { format: "png" }, sessionId)
      const png = Buffer.from(shot.data, "base64")
      await writeFile(join(dir, "report.png"), png)
      const image = readPng(png)
      assert.equal(image.width, 1280)
      assert.equal(image.height, 2000)
      assert.ok(png.length > 50_000, `screenshot of ${png.length} bytes`)
      assert.ok(image.colours > 200, `${image.colours} colours`)
      assert.ok(image.inkShare > 0.03, `${(image.inkShare * 100).toFixed(1)}% of pixels are not background`)

      // A phone: tables scroll inside their frames, the page itself does not.
      await browser.send("Emulation.setDeviceMetricsOverride", { width: 390, height: 844, deviceScaleFactor: 1, mobile: false }, sessionId)
      const narrow = await browser.send<{ result: { value: number } }>(
        "Runtime.evaluate",
        { expression: "document.documentElement.scrollWidth", returnByValue: true },
        sessionId
      )
      assert.ok(narrow.result.value <= 390, `the page scrolls sideways at 390px (${narrow.result.value}px)`)

      const hostilePage = await load(hostilePath)
      assert.equal(hostilePage.scripts, 0)
      assert.equal(hostilePage.pcaPoints[HOSTILE], 150)
      const rowHeader = await browser.send<{ result: { value: string } }>(
        "Runtime.evaluate",
        { expression: `document.querySelector("#table-polarity tbody tr:nth-child(2) th").textContent`, returnByValue: true },
        sessionId
      )
      assert.equal(rowHeader.result.value, HOSTILE)

      // The listeners are live (a vacuous pass would look the same as a clean page otherwise).
      const probe = browser.waitForEvent("Runtime.consoleAPICalled", sessionId, 5_000)
      await browser.send("Runtime.evaluate", { expression: `console.info("carl report probe")` }, sessionId)
      await probe
      assert.ok(consoleTypes.includes("info"))
      assert.deepEqual(problems, [])
      assert.deepEqual(requests, [pathToFileURL(reportPath).href, pathToFileURL(hostilePath).href])
    } finally {
      await browser.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
