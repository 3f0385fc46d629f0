/**
 * `carl serve`, in-process on base USE-lite with its shipped heads: the HTTP contract (every bad
 * request a 4xx with a message, the server still up after each), and the page in Debian's headless
 * Chromium: typing moves the point to where the API places that text, a negative text moves it
 * left, the map tab shows it among the reference corpus, with no console errors and no request
 * leaving the server. With CARL_SERVE_SCREENSHOT=<file> it also writes the screenshot docs/
 * shows (`npm run screenshot:serve`).
 */
import assert from "node:assert/strict"
import { writeFile } from "node:fs/promises"
import { request as httpRequest } from "node:http"
import { after, before, describe, test } from "node:test"
import { Effect, Fiber } from "effect"
import { runtime } from "../pipelines/cli/command.ts"
import { serveCommand } from "../pipelines/serve/serve-command.ts"
import { CHROMIUM_SKIP, launchChromium, navigate, openPage, watchPage } from "./support/headless-chromium.ts"
import { temporaryFolder } from "./support/temp-folder.ts"

const inRoot = temporaryFolder("carl-serve-")

interface Reply {
  readonly status: number
  readonly headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
  readonly body: string
}

const call = (url: string, options: { readonly method?: string; readonly body?: string | Buffer; readonly headers?: Record<string, string> } = {}): Promise<Reply> =>
  new Promise((resolve, reject) => {
    const sent = httpRequest(url, { method: options.method ?? "GET", headers: options.headers ?? {} }, (response) => {
      const chunks: Array<Buffer> = []
      response.on("data", (chunk: Buffer) => chunks.push(chunk))
      response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString("utf8") }))
    })
    sent.on("error", reject)
    sent.end(options.body)
  })

const predict = async (url: string, text: string) => {
  const reply = await call(`${url}api/predict`, { method: "POST", body: JSON.stringify({ text }), headers: { "content-type": "application/json" } })
  assert.equal(reply.status, 200, reply.body)
  return JSON.parse(reply.body) as { valenceNorm: number; arousalNorm: number; valence: number; map: { x: number; y: number }; nearest: Array<{ text: string; similarity: number }> }
}

let url = ""
let fiber: Fiber.Fiber<void, unknown> | undefined

before(async () => {
  let started: Fiber.Fiber<void, unknown> | undefined
  const listening = new Promise<string>((resolve) => {
    started = Effect.runFork(
      Effect.scoped(
        serveCommand({ model: "use-lite", host: "127.0.0.1", port: 0, skipBadRows: false, referenceSize: 300, neighbours: 5, batchSize: 64, offline: true, onListening: resolve })
      ).pipe(Effect.provide(runtime("auto", 42)))
    )
  })
  fiber = started
  // A server that fails before it is ready ends the setup with its error instead of hanging it.
  const ended = Effect.runPromise(Fiber.join(started as Fiber.Fiber<void, unknown>)).then(() => {
    throw new Error("carl serve ended before it was ready")
  })
  url = await Promise.race([listening, ended])
})

after(async () => {
  if (fiber !== undefined) await Effect.runPromise(Fiber.interrupt(fiber))
})

describe("carl serve over HTTP", () => {
  test("the page, its script and style, with a policy that forbids any other origin", async () => {
    const page = await call(url)
    assert.equal(page.status, 200)
    assert.match(String(page.headers["content-type"]), /text\/html/)
    assert.match(String(page.headers["content-security-policy"]), /default-src 'none'; script-src 'self'/)
    assert.match(page.body, /<script src="\/app\.js"><\/script>/)
    assert.doesNotMatch(page.body, /https?:\/\//, "the page names no other origin")
    assert.equal((await call(`${url}app.js`)).status, 200)
    assert.equal((await call(`${url}app.css`)).status, 200)
  })

  test("predict: valence in order, nearest neighbours sorted, the same answer twice", async () => {
    const happy = await predict(url, "I am thrilled about the news")
    const sad = await predict(url, "I am devastated")
    assert.ok(happy.valenceNorm > sad.valenceNorm, `${happy.valenceNorm} vs ${sad.valenceNorm}`)
    assert.ok(happy.valence >= 1 && happy.valence <= 5)
    assert.equal(happy.nearest.length, 5)
    for (let i = 1; i < happy.nearest.length; i++) assert.ok((happy.nearest[i - 1]?.similarity ?? 0) >= (happy.nearest[i]?.similarity ?? 0))
    assert.deepEqual(await predict(url, "I am thrilled about the news"), happy)
  })

  test("a bad request is a 4xx with a message (test/bad-input/heads-and-serve.test.ts has every case), and the server stays up", async () => {
    const reply = await call(`${url}api/predict`, { method: "POST", body: "not json" })
    assert.equal(reply.status, 400)
    assert.match((JSON.parse(reply.body) as { error: string }).error, /not JSON/)
    const foreign = await call(url, { headers: { host: "attacker.example:80" } })
    assert.equal(foreign.status, 403)
    assert.equal((await call(`${url}api/info`)).status, 200, "still serving")
  })
})

describe("carl serve in headless Chromium", { skip: CHROMIUM_SKIP }, () => {
  test("typing moves the point to the predicted place; no console errors, no outside requests", { timeout: 60_000 }, async () => {
    const browser = await launchChromium({ userDataDir: inRoot("profile") })
    try {
      const { sessionId } = await openPage(browser)
      const { problems, requests } = await watchPage(browser, sessionId)
      await browser.send("Emulation.setDeviceMetricsOverride", { width: 1100, height: 820, deviceScaleFactor: 1, mobile: false }, sessionId)
      const evaluate = async <T>(expression: string): Promise<T> =>
        (await browser.send<{ result: { value: T } }>("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true }, sessionId)).result.value
      const waitFor = async (expression: string, what: string) => {
        for (let i = 0; i < 200; i++) {
          if (await evaluate<boolean>(expression)) return
          await new Promise((resolve) => setTimeout(resolve, 50))
        }
        assert.fail(`timed out waiting for ${what}`)
      }
      await navigate(browser, sessionId, url)
      await waitFor(`document.body.dataset.ready === "true"`, "the page to load the model's info")
      assert.equal(await evaluate<number>(`document.querySelectorAll("#va-plane circle.reference").length`), 300)

      const typeAndWait = async (text: string) => {
        const count = await evaluate<number>(`Number(document.body.dataset.predictions || "0")`)
        await evaluate(`(() => { const box = document.getElementById("text"); box.focus(); box.value = ""; return true })()`)
        await browser.send("Input.insertText", { text }, sessionId)
        await waitFor(`Number(document.body.dataset.predictions || "0") > ${count} && document.getElementById("text").value === ${JSON.stringify(text)}`, `a prediction for ${text}`)
        return evaluate<{ cx: number; cy: number; valence: number; arousal: number; nearest: number }>(
          `(() => { const p = document.getElementById("va-point"); return { cx: Number(p.getAttribute("cx")), cy: Number(p.getAttribute("cy")), valence: Number(p.dataset.valence), arousal: Number(p.dataset.arousal), nearest: document.querySelectorAll("#nearest li").length } })()`
        )
      }
      const happy = await typeAndWait("I am thrilled about the news")
      const expected = await predict(url, "I am thrilled about the news")
      assert.equal(happy.valence, expected.valenceNorm)
      assert.equal(happy.arousal, expected.arousalNorm)
      assert.equal(happy.nearest, 5)
      const sad = await typeAndWait("I am devastated")
      assert.ok(sad.cx < happy.cx, `the point did not move left for a negative text (${happy.cx} → ${sad.cx})`)
      // The plane's x grows with valence: the point sits where the API's valence puts it.
      const ratio = (happy.cx - sad.cx) / (happy.valence - sad.valence)
      assert.ok(ratio > 0, `x does not grow with valence (${ratio})`)

      await evaluate(`(() => { document.getElementById("tab-map").click(); return true })()`)
      assert.equal(await evaluate<boolean>(`document.getElementById("panel-map").hidden`), false)
      assert.equal(await evaluate<string>(`document.getElementById("map-point").getAttribute("visibility")`), "visible")
      await evaluate(`(() => { document.getElementById("tab-va").click(); return true })()`)

      const shotFile = process.env["CARL_SERVE_SCREENSHOT"]
      if (shotFile !== undefined && shotFile !== "") {
        await typeAndWait("I am thrilled about the news")
        const shot = await browser.send<{ data: string }>("Page.captureScreenshot", { format: "png" }, sessionId)
        await writeFile(shotFile, Buffer.from(shot.data, "base64"))
      }
      assert.deepEqual(problems, [])
      const outside = requests.filter((requested) => !requested.startsWith(url))
      assert.deepEqual(outside, [], "requests that left the server")
      assert.ok(requests.some((requested) => requested === `${url}api/predict`))
    } finally {
      await browser.close()
    }
  })
})

describe("carl serve under load", () => {
  test("past its rate a client gets 429 with retry-after, not the CPU", async () => {
    const replies = await Promise.all(Array.from({ length: 80 }, () => call(`${url}api/info`)))
    const limited = replies.filter((reply) => reply.status === 429)
    assert.ok(limited.length > 0, "80 requests at once were all served")
    assert.equal(limited[0]?.headers["retry-after"], "1")
    assert.match((JSON.parse(limited[0]?.body ?? "{}") as { error: string }).error, /too many requests/)
  })
})

