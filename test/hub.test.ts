/**
 * Hub downloads against a local stand-in for huggingface.co on 127.0.0.1: the `resolve` URL
 * layout, a redirect of the weights to a separate "CDN" server carrying `x-linked-size` (as the
 * hub does for LFS files), Range requests, 404s for optional files, and a dropped connection.
 */
import assert from "node:assert/strict"
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, before, beforeEach, describe, test } from "node:test"
import { Effect, Result } from "effect"
import { HubError, hubSettings, resolveModel, type HubOptions } from "../plugins/encoders/hub/index.ts"

interface Request {
  readonly server: "hub" | "cdn"
  readonly path: string
  readonly range: string | undefined
  readonly authorization: string | undefined
}

const bytes = (length: number, seed: number): Buffer => Buffer.from(Array.from({ length }, (_, i) => (i * 31 + seed) % 251))

const tinyModel = (seed: number): Map<string, Buffer> =>
  new Map([
    ["config.json", Buffer.from(JSON.stringify({ model_type: "bert", seed }))],
    ["tokenizer.json", Buffer.from(JSON.stringify({ version: "1.0", seed }))],
    ["tokenizer_config.json", Buffer.from(JSON.stringify({ model_max_length: 512 }))],
    ["vocab.txt", Buffer.from("[PAD]\n[UNK]\n[CLS]\n[SEP]\n")],
    ["model.safetensors", bytes(200_000, seed)]
  ])

/** repo → file → bytes; files absent here are 404s. */
const REPOS = new Map<string, Map<string, Buffer>>([
  ["carl-test/tiny-bert", tinyModel(1)],
  ["carl-test/flaky", tinyModel(2)],
  ["carl-test/wrong-size", tinyModel(3)],
  ["carl-test/overlong-partial", tinyModel(4)],
  ["bert-base-uncased", tinyModel(5)],
  ["carl-test/no-tokenizer", new Map([...tinyModel(6)].filter(([file]) => file !== "tokenizer.json"))]
])

const LFS_FILES = new Set(["model.safetensors"])

/** Per-test behaviour of the servers. */
const scenario = {
  /** CDN paths whose next response sends half the body and then drops the connection. */
  interruptOnce: new Set<string>(),
  /** repo → the size the hub announces in x-linked-size instead of the real one. */
  announcedSize: new Map<string, number>([["carl-test/wrong-size", 200_000 + 10]])
}

const requests: Array<Request> = []

/** Serves `data` honouring `Range: bytes=N-`, as the hub and its CDN do. */
const serveBytes = (request: IncomingMessage, response: ServerResponse, data: Buffer, interrupt: boolean) => {
  const range = /^bytes=(\d+)-$/.exec(request.headers.range ?? "")
  const start = range?.[1] === undefined ? 0 : Number(range[1])
  if (start >= data.length && range !== null) {
    response.writeHead(416, { "content-range": `bytes */${data.length}` }).end()
    return
  }
  const body = data.subarray(start)
  response.writeHead(range === null ? 200 : 206, {
    "content-length": String(body.length),
    "accept-ranges": "bytes",
    ...(range === null ? {} : { "content-range": `bytes ${start}-${data.length - 1}/${data.length}` })
  })
  if (!interrupt) {
    response.end(body)
    return
  }
  response.write(body.subarray(0, Math.floor(body.length / 2)), () => {
    setTimeout(() => response.socket?.destroy(), 50)
  })
}

const startServer = (handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<Server> =>
  new Promise((resolve) => {
    const server = createServer(handler)
    server.listen(0, "127.0.0.1", () => resolve(server))
  })

const origin = (server: Server): string => `http://127.0.0.1:${(server.address() as AddressInfo).port}`

const stopServer = (server: Server): Promise<void> =>
  new Promise((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })

let hub: Server
let cdn: Server
let endpoint: string
let scratch: string

const record = (server: Request["server"], request: IncomingMessage): string => {
  const path = new URL(request.url ?? "/", "http://x").pathname
  requests.push({ server, path, range: request.headers.range, authorization: request.headers.authorization })
  return path
}

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), "carl-hub-"))
  cdn = await startServer((request, response) => {
    const path = record("cdn", request)
    const match = /^\/blobs\/(.+)\/([^/]+)\/([^/]+)$/.exec(path)
    const data = match === null ? undefined : REPOS.get(match[1] ?? "")?.get(match[3] ?? "")
    if (data === undefined) {
      response.writeHead(404).end()
      return
    }
    const interrupt = scenario.interruptOnce.delete(path)
    serveBytes(request, response, data, interrupt)
  })
  hub = await startServer((request, response) => {
    const path = record("hub", request)
    const match = /^\/(.+)\/resolve\/([^/]+)\/(.+)$/.exec(path)
    const [repo, revision, file] = [match?.[1] ?? "", match?.[2] ?? "", match?.[3] ?? ""]
    const data = revision === "main" ? REPOS.get(repo)?.get(file) : undefined
    if (data === undefined) {
      response.writeHead(404, { "x-error-code": "EntryNotFound" }).end("Entry not found")
      return
    }
    if (LFS_FILES.has(file)) {
      response
        .writeHead(302, {
          location: `${origin(cdn)}/blobs/${repo}/${revision}/${file}`,
          "x-linked-size": String(scenario.announcedSize.get(repo) ?? data.length)
        })
        .end()
      return
    }
    serveBytes(request, response, data, false)
  })
  endpoint = origin(hub)
})

after(async () => {
  await Promise.all([stopServer(hub), stopServer(cdn)])
  await rm(scratch, { recursive: true, force: true })
})

beforeEach(() => {
  requests.length = 0
})

let cacheCount = 0
const freshCache = async (): Promise<string> => {
  const dir = join(scratch, `cache-${cacheCount++}`)
  await mkdir(dir)
  return dir
}

/** Options that ignore the environment the tests run in (a developer's HF_HUB_OFFLINE, HF_TOKEN…). */
const options = (cacheDir: string, extra: HubOptions = {}): HubOptions => ({
  endpoint,
  cacheDir,
  env: {},
  timeoutMs: 5_000,
  ...extra
})

const resolved = async (idOrDir: string, hubOptions: HubOptions): Promise<string> => {
  const result = await Effect.runPromise(Effect.result(resolveModel(idOrDir, hubOptions)))
  if (Result.isFailure(result)) assert.fail(`expected a directory, got: ${result.failure.message}`)
  return result.success
}

const failure = async (idOrDir: string, hubOptions: HubOptions): Promise<HubError> => {
  const result = await Effect.runPromise(Effect.result(resolveModel(idOrDir, hubOptions)))
  if (Result.isSuccess(result)) assert.fail(`expected a HubError, got ${result.success}`)
  assert.ok(result.failure instanceof HubError)
  assert.ok(!result.failure.message.includes("\n"), `one line: ${result.failure.message}`)
  return result.failure
}

const exists = (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false
  )

const snapshot = (cacheDir: string, folder: string) => join(cacheDir, folder, "snapshots", "main")

describe("resolveModel from the hub", () => {
  test("downloads into models--org--name/snapshots/main with the right bytes", { timeout: 10_000 }, async () => {
    const cacheDir = await freshCache()
    const dir = await resolved("carl-test/tiny-bert", options(cacheDir, { token: "hf_test" }))
    assert.equal(dir, snapshot(cacheDir, "models--carl-test--tiny-bert"))
    for (const [file, data] of REPOS.get("carl-test/tiny-bert") ?? []) {
      assert.deepEqual(await readFile(join(dir, file)), data, file)
      assert.equal(await exists(join(dir, `${file}.incomplete`)), false)
    }
    for (const file of ["merges.txt", "vocab.json", "special_tokens_map.json"]) {
      assert.equal(await exists(join(dir, file)), false, `${file} is optional and absent`)
      assert.ok(await exists(join(cacheDir, "models--carl-test--tiny-bert", ".no_exist", "main", file)))
    }
    const weights = requests.filter((request) => request.path.endsWith("model.safetensors"))
    assert.deepEqual(
      weights.map((request) => [request.server, request.authorization]),
      [
        ["hub", "Bearer hf_test"],
        ["cdn", undefined]
      ],
      "the redirect is followed, and the token stays with the hub"
    )
  })

  test("a second call is served from the cache without a request", { timeout: 10_000 }, async () => {
    const cacheDir = await freshCache()
    const first = await resolved("carl-test/tiny-bert", options(cacheDir))
    const count = requests.length
    assert.ok(count > 0)
    const second = await resolved("carl-test/tiny-bert", options(cacheDir))
    assert.equal(second, first)
    assert.equal(requests.length, count, "no request on a warm cache")
  })

  test("an id without an org caches as models--name", { timeout: 10_000 }, async () => {
    const cacheDir = await freshCache()
    const dir = await resolved("bert-base-uncased", options(cacheDir))
    assert.equal(dir, snapshot(cacheDir, "models--bert-base-uncased"))
    assert.ok(requests.some((request) => request.path === "/bert-base-uncased/resolve/main/config.json"))
  })

  test("an interrupted download is kept and resumed with a Range request", { timeout: 10_000 }, async () => {
    const cacheDir = await freshCache()
    const weights = REPOS.get("carl-test/flaky")?.get("model.safetensors") ?? Buffer.alloc(0)
    scenario.interruptOnce.add("/blobs/carl-test/flaky/main/model.safetensors")
    const error = await failure("carl-test/flaky", options(cacheDir))
    assert.equal(error.file, "model.safetensors")
    assert.match(error.message, /stopped after \d+ of 200000 bytes \(connection reset\).*next run resumes/)

    const partial = join(snapshot(cacheDir, "models--carl-test--flaky"), "model.safetensors.incomplete")
    const kept = (await stat(partial)).size
    assert.ok(kept > 0 && kept < weights.length, `a partial file (${kept} bytes)`)

    requests.length = 0
    const dir = await resolved("carl-test/flaky", options(cacheDir))
    const resumed = requests.filter((request) => request.server === "cdn")
    assert.deepEqual(
      resumed.map((request) => request.range),
      [`bytes=${kept}-`]
    )
    assert.deepEqual(await readFile(join(dir, "model.safetensors")), weights)
    assert.equal(await exists(partial), false)
    for (const file of ["config.json", "tokenizer.json", "tokenizer_config.json"]) {
      assert.ok(!requests.some((request) => request.path.endsWith(`/${file}`)), `${file} finished before and is not fetched again`)
    }
  })

  test("a partial file longer than the real one is discarded and the file fetched afresh", { timeout: 10_000 }, async () => {
    const cacheDir = await freshCache()
    const dir = snapshot(cacheDir, "models--carl-test--overlong-partial")
    await mkdir(dir, { recursive: true })
    await writeFile(join(dir, "config.json.incomplete"), Buffer.alloc(10_000, 7))
    await resolved("carl-test/overlong-partial", options(cacheDir))
    assert.deepEqual(await readFile(join(dir, "config.json")), REPOS.get("carl-test/overlong-partial")?.get("config.json"))
    assert.deepEqual(
      requests.filter((request) => request.path.endsWith("/config.json")).map((request) => request.range),
      ["bytes=10000-", undefined]
    )
  })

  test("a size different from x-linked-size is an error and the partial file is kept", { timeout: 10_000 }, async () => {
    const cacheDir = await freshCache()
    const error = await failure("carl-test/wrong-size", options(cacheDir))
    assert.equal(error.repo, "carl-test/wrong-size")
    assert.equal(error.file, "model.safetensors")
    assert.match(error.message, /size mismatch for carl-test\/wrong-size\/model\.safetensors: received 200000 bytes, the hub announced 200010 \(x-linked-size\)/)
    const dir = snapshot(cacheDir, "models--carl-test--wrong-size")
    assert.equal((await stat(join(dir, "model.safetensors.incomplete"))).size, 200_000)
    assert.equal(await exists(join(dir, "model.safetensors")), false)
  })

  test("a missing required file names the file and the URL", { timeout: 10_000 }, async () => {
    const cacheDir = await freshCache()
    const error = await failure("carl-test/no-tokenizer", options(cacheDir))
    assert.equal(error.file, "tokenizer.json")
    assert.equal(
      error.message,
      `carl-test/no-tokenizer has no tokenizer.json at revision 'main': HTTP 404 from ${endpoint}/carl-test/no-tokenizer/resolve/main/tokenizer.json`
    )
  })
})

describe("resolveModel without the network", () => {
  test("offline with a warm cache needs no server", { timeout: 10_000 }, async () => {
    const cacheDir = await freshCache()
    const online = await resolved("carl-test/tiny-bert", options(cacheDir))
    requests.length = 0
    const viaOption = await resolved("carl-test/tiny-bert", options(cacheDir, { offline: true, endpoint: "http://127.0.0.1:9" }))
    const viaEnv = await resolved("carl-test/tiny-bert", { env: { HF_HUB_OFFLINE: "1", HF_HUB_CACHE: cacheDir } })
    assert.equal(viaOption, online)
    assert.equal(viaEnv, online)
    assert.equal(requests.length, 0)
  })

  test("offline with a cold cache names the missing file and where it was looked for", { timeout: 10_000 }, async () => {
    const cacheDir = await freshCache()
    const error = await failure("carl-test/tiny-bert", options(cacheDir, { offline: true }))
    const expectedPath = join(snapshot(cacheDir, "models--carl-test--tiny-bert"), "config.json")
    assert.equal(error.file, "config.json")
    assert.equal(error.message, `offline and config.json is not in the cache at ${expectedPath}`)
    assert.equal(requests.length, 0)
  })

  test("an unreachable endpoint gives one line that says what to do", { timeout: 10_000 }, async () => {
    const closed = await startServer(() => undefined)
    const closedEndpoint = origin(closed)
    await stopServer(closed)
    const cacheDir = await freshCache()
    const error = await failure("carl-test/tiny-bert", options(cacheDir, { endpoint: closedEndpoint }))
    assert.equal(
      error.message,
      `cannot reach ${closedEndpoint} to download carl-test/tiny-bert/config.json: connection refused; pass a local directory or set HF_HUB_OFFLINE=1 to use the cache`
    )
  })

  test("an endpoint that accepts but never answers times out with the same line", { timeout: 10_000 }, async () => {
    const silent = await startServer(() => undefined)
    try {
      const error = await failure("carl-test/tiny-bert", options(await freshCache(), { endpoint: origin(silent), timeoutMs: 300 }))
      assert.equal(
        error.message,
        `cannot reach ${origin(silent)} to download carl-test/tiny-bert/config.json: no response for 0.3s; pass a local directory or set HF_HUB_OFFLINE=1 to use the cache`
      )
    } finally {
      await stopServer(silent)
    }
  })

  test("a local directory is returned unchanged", { timeout: 10_000 }, async () => {
    const local = await mkdtemp(join(scratch, "local-model-"))
    assert.equal(await resolved(local, options(await freshCache(), { offline: true })), local)
    assert.equal(await resolved(local, options(await freshCache())), local)
    assert.equal(requests.length, 0)
  })

  test("a path that is neither a directory nor a hub id is an error", { timeout: 10_000 }, async () => {
    const error = await failure(join(scratch, "no", "such", "dir"), options(await freshCache()))
    assert.match(error.message, /is neither a local directory nor a Hugging Face model id/)
    assert.equal(requests.length, 0)
  })
})

describe("hubSettings", () => {
  test("reads huggingface_hub's variables, options first", () => {
    assert.equal(hubSettings({ env: { HF_HOME: "/hf" } }).cacheDir, join("/hf", "hub"))
    assert.equal(hubSettings({ env: { HF_HOME: "/hf", HF_HUB_CACHE: "/cache" } }).cacheDir, "/cache")
    assert.equal(hubSettings({ env: { XDG_CACHE_HOME: "/xdg" } }).cacheDir, join("/xdg", "huggingface", "hub"))
    assert.equal(hubSettings({ env: { HF_ENDPOINT: "https://mirror.example/" } }).endpoint, "https://mirror.example")
    assert.equal(hubSettings({ env: {} }).endpoint, "https://huggingface.co")
    assert.equal(hubSettings({ env: { HF_HUB_OFFLINE: "true" } }).offline, true)
    assert.equal(hubSettings({ env: { HF_HUB_OFFLINE: "0" } }).offline, false)
    assert.equal(hubSettings({ offline: false, env: { HF_HUB_OFFLINE: "1" } }).offline, false)
    assert.equal(hubSettings({ env: { HF_TOKEN: "hf_x" } }).token, "hf_x")
    assert.equal(hubSettings({ env: {} }).revision, "main")
  })
})
