/**
 * The failure paths of carl predict, carl fit-head, carl eval --va-data and carl serve: a missing
 * or damaged head, a head of another model, bad input, bad --va-data and --max-examples, a port
 * in use, and every bad request to the page. Each ends in one line naming the file (or the
 * request) and the problem, a non-zero exit (a 4xx for the page), and changes nothing on disk.
 */
import assert from "node:assert/strict"
import { cp, mkdir, writeFile } from "node:fs/promises"
import { createServer, request as httpRequest, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { after, before, describe, test } from "node:test"
import { tokenBuckets } from "../../pipelines/serve/rate-limit.ts"
import { createHandler, SERVE_LIMITS } from "../../pipelines/serve/server.ts"
import { USE_LITE_HEADS } from "../../pipelines/heads/model-heads.ts"
import { binaryGarbage, expectCleanCliFailure, writeBadFile } from "../support/run-cli.ts"
import { temporaryFolder } from "../support/temp-folder.ts"
import { writeTinyBertDir } from "../support/tiny-bert-dir.ts"

const inRoot = temporaryFolder("carl-bad-heads-")
let model = ""
let input = ""

before(async () => {
  model = inRoot("tiny-bert")
  await writeTinyBertDir(model)
  input = inRoot("input.txt")
  await writeFile(input, "i love this movie\n")
})

/** A folder holding a copy of the shipped USE-lite heads, damaged by `damage`. */
const damagedHeads = async (label: string, damage: (dir: string) => Promise<void>) => {
  const dir = inRoot(label)
  await cp(USE_LITE_HEADS, dir, { recursive: true })
  await damage(dir)
  return dir
}

describe("carl predict: heads that are missing, damaged or another model's", () => {
  test("a model folder with no head names the folder and the command that fits one", async () => {
    await expectCleanCliFailure(inRoot(), ["predict", "--backend", "cpu", "--model", model, "--input", input], [
      `no va-head in ${model}`,
      "carl fit-head --model",
      "--data <a VA corpus>"
    ])
  })

  const cases: ReadonlyArray<readonly [string, (dir: string) => Promise<void>, ReadonlyArray<string | RegExp>]> = [
    ["a card that is not JSON", (dir) => writeBadFile(join(dir, "va-head.json"), "{ not json"), ["va-head.json: not JSON"]],
    ["a card that is binary garbage", (dir) => writeBadFile(join(dir, "va-head.json"), binaryGarbage(300)), ["va-head.json: "]],
    [
      "a card of another format",
      async (dir) => writeFile(join(dir, "va-head.json"), JSON.stringify({ format: "carl-ekman-head" })),
      [/va-head\.json: field 'format'/]
    ],
    ["weights cut short", (dir) => writeBadFile(join(dir, "va-head.safetensors"), Buffer.alloc(12)), ["va-head.safetensors: "]],
    ["weights missing", (dir) => writeBadFile(join(dir, "va-head.safetensors"), { kind: "absent" }), ["va-head.safetensors: ", "ENOENT"]],
    [
      "an Ekman card whose classes do not match its weights",
      async (dir) => {
        const card = JSON.parse(await import("node:fs/promises").then((fs) => fs.readFile(join(dir, "ekman-head.json"), "utf8"))) as { classes: Array<string> }
        card.classes.push("neutral")
        await writeFile(join(dir, "ekman-head.json"), JSON.stringify(card))
      },
      ["ekman-head.safetensors: tensor 'weight' has shape [6, 512]", "needs [7, 512]"]
    ]
  ]
  for (const [name, damage, mentions] of cases) {
    test(name, async () => {
      const heads = await damagedHeads(name.replace(/\W+/g, "-"), damage)
      await expectCleanCliFailure(heads, ["predict", "--backend", "cpu", "--head", heads, "--emotion", "--input", input], mentions)
    })
  }

  test("a head fitted on another model's embeddings (512 dims against the tiny BERT's)", async () => {
    await expectCleanCliFailure(inRoot(), ["predict", "--backend", "cpu", "--model", model, "--head", USE_LITE_HEADS, "--input", input], [
      "va-head.json was fitted on 512-dimensional embeddings of use-lite",
      "fit a head for this model"
    ])
  })

  test("an input file that is not there", async () => {
    await expectCleanCliFailure(inRoot(), ["predict", "--backend", "cpu", "--input", inRoot("nothing.txt")], ["nothing.txt", "ENOENT"])
  })
})

describe("carl fit-head: nothing to fit on, nowhere to write", () => {
  test("no --data and no --goemotions", async () => {
    await expectCleanCliFailure(inRoot(), ["fit-head", "--backend", "cpu", "--model", model], ["name a VA corpus with --data", "--goemotions"])
  })
  test("use-lite without --out (its shipped heads are not overwritten)", async () => {
    await expectCleanCliFailure(USE_LITE_HEADS, ["fit-head", "--backend", "cpu", "--model", "use-lite", "--data", input], ["--out is needed for use-lite"])
  })
  test("a corpus that is not a VA file", async () => {
    const dir = inRoot("fit-bad")
    await mkdir(dir)
    await expectCleanCliFailure(dir, ["fit-head", "--backend", "cpu", "--model", model, "--data", input, "--out", join(dir, "heads")], [input, "not EmoBank or the Facebook posts"])
  })
})

describe("carl eval --va-data and --max-examples", () => {
  const posts = (body: string) => `Anonymized Message,Valence1,Valence2,Arousal1,Arousal2\n${body}`
  const cases: ReadonlyArray<readonly [string, string, ReadonlyArray<string>, ReadonlyArray<string | RegExp>]> = [
    ["a label that is not a number", posts("great day,7,NaN,3,3\n"), [], [":2: field 'Valence2': not a finite number ('NaN')"]],
    ["a label outside the Facebook scale", posts("great day,7,12,3,3\n"), [], [":2: field 'Valence2': 12 is outside the scale 1–9"]],
    ["a header of neither layout, no column flags", "text,v,a\nhi,3,3\n", [], ["not EmoBank or the Facebook posts"]],
    ["columns named but no scale", "text,v,a\nhi,3,3\n", ["--text-column", "text", "--valence-column", "v", "--arousal-column", "a"], ["--scale min,max is required"]]
  ]
  for (const [name, content, flags, mentions] of cases) {
    test(name, async () => {
      const dir = inRoot(`va-data-${name.replace(/\W+/g, "-")}`)
      await mkdir(dir)
      const file = join(dir, "posts.csv")
      await writeFile(file, content)
      await expectCleanCliFailure(dir, ["eval", "--backend", "cpu", "--tasks", "va", "--va-data", file, ...flags, "--out", join(dir, "r.json")], [file, ...mentions])
    })
  }
  test("--va-data without the va task", async () => {
    await expectCleanCliFailure(inRoot(), ["eval", "--backend", "cpu", "--tasks", "mr", "--va-data", input, "--out", inRoot("r.json")], ["--va-data is evaluated by the va task"])
  })
  for (const [value, mention] of [
    ["imdb=lots", "--max-examples imdb must be a whole number ≥ 1, got 'lots'"],
    ["wikipedia=5", "'wikipedia=5' is not <dataset>=<count>"],
    ["imdb=5,imdb=6", "imdb is capped twice"],
    ["0", "--max-examples must be a whole number ≥ 1, got '0'"]
  ] as const) {
    test(`--max-examples ${value}`, async () => {
      await expectCleanCliFailure(inRoot(), ["eval", "--backend", "cpu", "--tasks", "va", "--max-examples", value, "--out", inRoot("r.json")], [mention])
    })
  }
})

describe("carl serve", () => {
  let blocker: Server | undefined
  after(() => blocker?.close())
  test("a port already in use", async () => {
    blocker = createServer()
    await new Promise<void>((resolve) => blocker?.listen(0, "127.0.0.1", resolve))
    const port = (blocker.address() as AddressInfo).port
    await expectCleanCliFailure(inRoot(), ["serve", "--backend", "cpu", "--port", String(port), "--reference-size", "20"], [
      `cannot listen on 127.0.0.1:${port} (EADDRINUSE)`,
      "--port 0"
    ])
  })
  test("a port out of range", async () => {
    await expectCleanCliFailure(inRoot(), ["serve", "--port", "70000"], ["--port must be at most 65535"])
  })
})

describe("bad requests to the page", () => {
  let server: Server | undefined
  let url = ""
  const failures: Array<unknown> = []
  before(async () => {
    const handler = createHandler({
      app: () => ({
        info: { ok: true },
        predict: (text: string) => {
          if (text === "fail inside") throw new Error("the model broke")
          return { text }
        }
      }),
      assets: { "/index.html": { type: "text/html", body: "<p>page</p>" } },
      limits: SERVE_LIMITS,
      rateLimiter: tokenBuckets({ perSecond: 1000, burst: 1000 }),
      loopbackOnly: true,
      onError: (error) => failures.push(error)
    })
    server = createServer(handler)
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  })
  after(() => server?.close())

  const call = (path: string, method: string, body?: string | Buffer, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const sent = httpRequest(`${url}${path}`, { method, headers }, (response) => {
        let text = ""
        response.setEncoding("utf8").on("data", (chunk: string) => (text += chunk))
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body: text }))
      })
      sent.on("error", reject)
      sent.end(body)
    })

  const CASES: ReadonlyArray<readonly [string, string, string, string | Buffer | undefined, number, RegExp]> = [
    ["a body that is not JSON", "api/predict", "POST", "text=hello", 400, /the body is not JSON/],
    ["JSON that is not an object", "api/predict", "POST", '"hello"', 400, /send a JSON object/],
    ["no text", "api/predict", "POST", '{"words":"hello"}', 400, /"text" must be a string, got nothing/],
    ["a text that is a number", "api/predict", "POST", '{"text":5}', 400, /got number/],
    ["a text over the limit", "api/predict", "POST", JSON.stringify({ text: "é".repeat(5001) }), 413, /5001 characters; the limit is 5000/],
    ["a body over the limit", "api/predict", "POST", Buffer.alloc(20_000, 32), 413, /20000 bytes; the limit is 16384/],
    ["binary garbage", "api/predict", "POST", binaryGarbage(2000), 400, /not JSON/],
    ["GET on the predict endpoint", "api/predict", "GET", undefined, 405, /use POST/],
    ["a method the page does not serve", "", "PATCH", undefined, 405, /PATCH is not served here/],
    ["a path that is not there", "../../etc/passwd", "GET", undefined, 404, /no \/etc\/passwd here/],
    ["a failure inside the model", "api/predict", "POST", '{"text":"fail inside"}', 500, /the server failed on this request; see its log/]
  ]
  for (const [name, path, method, body, status, message] of CASES) {
    test(name, async () => {
      const reply = await call(path, method, body)
      assert.equal(reply.status, status, reply.body)
      const parsed = JSON.parse(reply.body) as { error: string }
      assert.match(parsed.error, message)
      assert.ok(!parsed.error.includes("\n"))
      assert.equal((await call("api/info", "GET")).status, 200, "the server still answers")
    })
  }
  test("an API request while the model loads: 503 with a retry, not a crash", async () => {
    const loading = createServer(
      createHandler({ app: () => undefined, assets: {}, limits: SERVE_LIMITS, rateLimiter: tokenBuckets({ perSecond: 1000, burst: 1000 }), loopbackOnly: true, onError: (error) => failures.push(error) })
    )
    await new Promise<void>((resolve) => loading.listen(0, "127.0.0.1", resolve))
    try {
      const reply = await new Promise<{ status: number; retry: string | undefined; body: string }>((resolve, reject) => {
        httpRequest(`http://127.0.0.1:${(loading.address() as AddressInfo).port}/api/info`, (response) => {
          let text = ""
          response.setEncoding("utf8").on("data", (chunk: string) => (text += chunk))
          response.on("end", () => resolve({ status: response.statusCode ?? 0, retry: response.headers["retry-after"], body: text }))
        })
          .on("error", reject)
          .end()
      })
      assert.equal(reply.status, 503)
      assert.equal(reply.retry, "1")
      assert.match((JSON.parse(reply.body) as { error: string }).error, /still loading/)
    } finally {
      loading.close()
    }
  })
  test("another host name (DNS rebinding)", async () => {
    const reply = await call("api/info", "GET", undefined, { host: "evil.example" })
    assert.equal(reply.status, 403)
    assert.match(reply.body, /host \\"evil\.example\\" is not this server's/)
  })
  test("the failure inside was logged once, and only it", () => {
    assert.equal(failures.length, 1)
    assert.match(String(failures[0]), /the model broke/)
  })
})
