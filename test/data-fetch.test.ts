/**
 * `carl data fetch` against a local stand-in for the sources on 127.0.0.1: tiny but well-formed
 * fixtures of the six datasets, served under the same URL paths as the real files (the registry's
 * URLs stay as they are; `mirror` / CARL_DATA_MIRROR moves them to the test server), with Range
 * support, a dropped connection and a short body on demand. The fetched folders are then read by
 * the readers in plugins/data. Nothing here leaves the loopback interface.
 */
import assert from "node:assert/strict"
import { spawn } from "node:child_process"
import { createHash } from "node:crypto"
import { existsSync } from "node:fs"
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import { BUNDLED_EMOBANK } from "../plugins/data/bundled.ts"
import { gzipSync } from "node:zlib"
import { after, before, beforeEach, describe, test } from "node:test"
import { Effect, Result } from "effect"
import { tarEntry } from "./support/tar.ts"
import { readCr, readEmoBank, readGoEmotions, readImdb, readMr, readSst5 } from "../plugins/data/index.ts"
import {
  DataFetchError,
  dataCacheDir,
  DATASETS,
  downloadsOf,
  fetchDataset,
  fetchDatasets,
  mirroredUrl,
  type DatasetSpec,
  type FetchEvent,
  type FetchOptions
} from "../plugins/data/fetch/index.ts"

const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url))
const SHARED_DATA = join(REPO_ROOT, "..", "shared", "data")
const noSharedData = existsSync(SHARED_DATA) ? false : `no ${SHARED_DATA}`

const sha256 = (data: Uint8Array): string => createHash("sha256").update(data).digest("hex")

// ---------------------------------------------------------------- fixtures

/** Laid out as the official aclImdb_v1.tar.gz: unsup/, .feat files and the vocabulary beside the reviews. */
const aclImdbFixture = (): Buffer => {
  const reviews: Array<[string, string]> = [
    ["test/neg/0_2.txt", "Dull.<br /><br />Two stars is generous."],
    ["test/neg/1_4.txt", "Not for me."],
    ["test/pos/0_10.txt", "A masterpiece."],
    ["train/neg/0_3.txt", "Weak plot, fine acting."],
    ["train/pos/0_9.txt", "Bromwell High is a cartoon comedy."],
    ["train/pos/1_7.txt", "Pleasant enough."]
  ]
  const entries = [
    tarEntry("aclImdb/", "", "5"),
    tarEntry("aclImdb/imdbEr.txt", "0.1\n"),
    tarEntry("aclImdb/imdb.vocab", "the\nand\n"),
    tarEntry("aclImdb/README", "Large Movie Review Dataset v1.0\n"),
    tarEntry("aclImdb/test/labeledBow.feat", "9 0:9 1:1\n"),
    ...reviews.map(([path, text]) => tarEntry(`aclImdb/${path}`, text)),
    tarEntry("aclImdb/train/unsup/0_0.txt", "An unlabelled review."),
    tarEntry("aclImdb/train/urls_unsup.txt", "http://www.imdb.com/title/tt0000001/usercomments\n")
  ]
  return gzipSync(Buffer.concat([...entries, Buffer.alloc(1024)]))
}
const ACL_IMDB_KEPT = 7 // README and the six labelled reviews

const EMOTIONS = ["admiration", "amusement", "anger", "annoyance", "joy", "sadness", "surprise", "neutral"]

/** Fixture bytes by the registry's file path, per dataset. */
const FIXTURES: Readonly<Record<string, Readonly<Record<string, Buffer>>>> = {
  emobank: {
    "emobank.csv": Buffer.from(
      [
        "id,split,V,A,D,text",
        'A_1,train,3.44,3.0,3.22,"Goodwill helps people, and that is good."',
        "A_2,train,2.8,3.1,2.8,If I wasn't working here.",
        "A_3,dev,3.0,3.0,3.0,Nothing to see.",
        "A_4,test,4.2,3.8,3.4,What a wonderful day!",
        "A_5,test,1.5,3.9,2.2,This is a disaster.",
        ""
      ].join("\n")
    )
  },
  goemotions: {
    "train.tsv": Buffer.from("I love it\t4\tid1\nSo annoying\t3,2\tid2\nok then\t7\tid3\n"),
    "dev.tsv": Buffer.from("Haha\t1\tid4\nwhy\t6\tid5\n"),
    "test.tsv": Buffer.from("sad day\t5\tid6\n\"quoted start\t0\tid7\n"),
    "emotions.txt": Buffer.from(EMOTIONS.join("\n")),
    "ekman_mapping.json": Buffer.from(
      JSON.stringify({ anger: ["anger", "annoyance"], joy: ["joy", "amusement", "admiration"], sadness: ["sadness"], surprise: ["surprise"] })
    )
  },
  sst5: {
    "stsa.fine.train": Buffer.from("4 a triumph .\n0 a mess .\n2 it exists .\n"),
    "stsa.fine.dev": Buffer.from("3 pretty good .\n1 rather dull .\n"),
    "stsa.fine.test": Buffer.from("4 superb .\n0 awful .\n")
  },
  mr: {
    // 0xf3 and 0xed: Latin-1, as the published file is.
    "rt-polarity.pos": Buffer.concat([Buffer.from("a warm film . \nladr"), Buffer.from([0xf3]), Buffer.from("n de orqu"), Buffer.from([0xed]), Buffer.from("deas . \n")]),
    "rt-polarity.neg": Buffer.from("a cold film . \nboring . \n")
  },
  cr: {
    "senteval_tokenized/custrev.pos": Buffer.from("im a more happier person after discovering the i/p button ! . \n"),
    "senteval_tokenized/custrev.neg": Buffer.from("the battery died . \n\n")
  },
  imdb: { "aclImdb_v1.tar.gz": aclImdbFixture() }
}

const fixtureOf = (dataset: string, path: string): Buffer => {
  const data = FIXTURES[dataset]?.[path]
  if (data === undefined) throw new Error(`no fixture for ${dataset}/${path}`)
  return data
}

/** The registry with the fixtures' sizes and sha256 in place of the real ones; URLs unchanged. */
const fixtureDatasets = (change: (dataset: string, path: string, pin: { size: number; sha256: string }) => { size: number; sha256: string } = (_d, _p, pin) => pin): ReadonlyArray<DatasetSpec> =>
  DATASETS.map((dataset) => ({
    ...dataset,
    files: dataset.files.map((file) => {
      if (file.kind === "download") {
        const data = fixtureOf(dataset.name, file.path)
        return { ...file, ...change(dataset.name, file.path, { size: data.length, sha256: sha256(data) }) }
      }
      const data = fixtureOf(dataset.name, file.archive.path)
      return { ...file, archive: { ...file.archive, ...change(dataset.name, file.archive.path, { size: data.length, sha256: sha256(data) }) }, entries: ACL_IMDB_KEPT }
    })
  }))

const FIXTURE_DATASETS = fixtureDatasets()

/** URL path → bytes: each fixture where its real source keeps it. */
const served = new Map<string, Buffer>()
for (const dataset of DATASETS) {
  for (const file of dataset.files) {
    const download = file.kind === "download" ? file : file.archive
    served.set(new URL(download.url).pathname, fixtureOf(dataset.name, download.path))
  }
}

/** The URL path of a dataset's first download, as the real source has it. */
const urlPathOf = (name: string): string => {
  const dataset = DATASETS.find((candidate) => candidate.name === name)
  const url = dataset === undefined ? undefined : downloadsOf(dataset)[0]?.url
  if (url === undefined) throw new Error(`no download for ${name}`)
  return new URL(url).pathname
}

const EMOBANK_URL_PATH = urlPathOf("emobank")
// The bundled copy is the pinned file (data/emobank/README.md gives the same sha256).
const REAL_EMOBANK = BUNDLED_EMOBANK

// ---------------------------------------------------------------- the server

interface Request {
  readonly path: string
  readonly range: string | undefined
}

const requests: Array<Request> = []

const scenario = {
  /** Paths whose next response sends half the body and then drops the connection. */
  interruptOnce: new Set<string>(),
  /** Paths answered without Content-Length and without their last 5 bytes. */
  shortBody: new Set<string>()
}

const serveBytes = (request: IncomingMessage, response: ServerResponse, path: string, data: Buffer) => {
  const range = /^bytes=(\d+)-$/.exec(request.headers.range ?? "")
  const start = range?.[1] === undefined ? 0 : Number(range[1])
  if (range !== null && start >= data.length) {
    response.writeHead(416, { "content-range": `bytes */${data.length}` }).end()
    return
  }
  const body = data.subarray(start)
  if (scenario.shortBody.has(path)) {
    response.writeHead(200).end(body.subarray(0, body.length - 5))
    return
  }
  response.writeHead(range === null ? 200 : 206, {
    "content-length": String(body.length),
    "accept-ranges": "bytes",
    ...(range === null ? {} : { "content-range": `bytes ${start}-${data.length - 1}/${data.length}` })
  })
  if (!scenario.interruptOnce.delete(path)) {
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

let server: Server
let mirror = ""
let scratch = ""

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), "carl-data-fetch-"))
  const realEmobank = existsSync(REAL_EMOBANK) ? await readFile(REAL_EMOBANK) : undefined
  server = await startServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? "/", "http://x").pathname)
    requests.push({ path, range: request.headers.range })
    // Under /real: the real EmoBank file, for the CLI run, which checks the production sha256.
    const data = path === `/real${EMOBANK_URL_PATH}` ? realEmobank : served.get(path)
    if (data === undefined) {
      response.writeHead(404).end("not found")
      return
    }
    serveBytes(request, response, path, data)
  })
  mirror = origin(server)
})

after(async () => {
  await stopServer(server)
  await rm(scratch, { recursive: true, force: true })
})

beforeEach(() => {
  requests.length = 0
  scenario.interruptOnce.clear()
  scenario.shortBody.clear()
})

// ---------------------------------------------------------------- helpers

let cacheCount = 0
const freshCache = async (): Promise<string> => {
  const dir = join(scratch, `cache-${cacheCount++}`)
  await mkdir(dir)
  return dir
}

/** Options that ignore the environment the tests run in (a developer's CARL_DATA_DIR or mirror). */
const options = (cacheDir: string, extra: FetchOptions = {}): FetchOptions => ({
  cacheDir,
  mirror,
  env: {},
  timeoutMs: 5_000,
  datasets: FIXTURE_DATASETS,
  ...extra
})

const fetched = async (name: string, fetchOptions: FetchOptions): Promise<string> => {
  const result = await Effect.runPromise(Effect.result(fetchDataset(name, fetchOptions)))
  if (Result.isFailure(result)) assert.fail(`expected a folder, got: ${result.failure.message}`)
  return result.success
}

const failure = async (effect: Effect.Effect<unknown, DataFetchError>): Promise<DataFetchError> => {
  const result = await Effect.runPromise(Effect.result(effect))
  if (Result.isSuccess(result)) assert.fail(`expected a DataFetchError, got ${String(result.success)}`)
  assert.ok(result.failure instanceof DataFetchError)
  assert.ok(!result.failure.message.includes("\n"), `one line: ${result.failure.message}`)
  return result.failure
}

const run = <A, E>(effect: Effect.Effect<A, E>): Promise<A> => Effect.runPromise(effect)

const exists = (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false
  )

const filesUnder = async (dir: string): Promise<Array<string>> => {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort()
}

const ALL = DATASETS.map((dataset) => dataset.name)

// ---------------------------------------------------------------- tests

describe("the dataset registry", () => {
  test("six datasets; every source is https and pinned to a commit or a fixed release", () => {
    assert.deepEqual(ALL, ["emobank", "goemotions", "sst5", "mr", "cr", "imdb"])
    for (const dataset of DATASETS) {
      for (const file of dataset.files) {
        const download = file.kind === "download" ? file : file.archive
        const url = new URL(download.url)
        assert.equal(url.protocol, "https:", download.url)
        if (url.host === "raw.githubusercontent.com") assert.match(url.pathname, /^\/[^/]+\/[^/]+\/[0-9a-f]{40}\//, download.url)
        assert.match(download.sha256, /^[0-9a-f]{64}$/)
        assert.ok(download.size > 0)
      }
    }
  })

  test("the pinned sizes and sha256 are those of ../shared/data (what the MANIFESTs describe)", { skip: noSharedData, timeout: 10_000 }, async () => {
    let checked = 0
    for (const dataset of DATASETS) {
      for (const file of dataset.files) {
        if (file.kind !== "download") continue
        const data = await readFile(join(SHARED_DATA, dataset.name, file.path))
        assert.equal(data.length, file.size, `${dataset.name}/${file.path} size`)
        assert.equal(sha256(data), file.sha256, `${dataset.name}/${file.path} sha256`)
        checked++
      }
    }
    assert.equal(checked, 13)
  })

  test("the cache folder: --data-dir, then CARL_DATA_DIR, then XDG_CACHE_HOME, then ~/.cache", () => {
    assert.equal(dataCacheDir({ cacheDir: "/flag", env: { CARL_DATA_DIR: "/env" } }), "/flag")
    assert.equal(dataCacheDir({ env: { CARL_DATA_DIR: "/env", XDG_CACHE_HOME: "/xdg" } }), "/env")
    assert.equal(dataCacheDir({ env: { XDG_CACHE_HOME: "/xdg" } }), join("/xdg", "carl", "data"))
    assert.match(dataCacheDir({ env: { CARL_DATA_DIR: "" } }), /[/\\]\.cache[/\\]carl[/\\]data$/)
  })

  test("a mirror keeps each source's path", () => {
    const url = "https://raw.githubusercontent.com/JULIELab/EmoBank/248ce2a43e165a66d31aeaed83cff9641d6654e0/corpus/emobank.csv"
    assert.equal(mirroredUrl(url, undefined), url)
    assert.equal(mirroredUrl(url, "http://127.0.0.1:8/m/"), "http://127.0.0.1:8/m/JULIELab/EmoBank/248ce2a43e165a66d31aeaed83cff9641d6654e0/corpus/emobank.csv")
  })
})

describe("fetchDataset from a mirror", () => {
  test("a fresh fetch lands in the readers' layout, and the readers read it", { timeout: 20_000 }, async () => {
    const cacheDir = await freshCache()
    const events: Array<FetchEvent> = []
    const folders = await run(fetchDatasets(ALL, options(cacheDir, { onEvent: (event) => events.push(event) })))
    assert.deepEqual(
      folders,
      ALL.map((name) => join(cacheDir, name))
    )
    assert.deepEqual(await filesUnder(cacheDir), [
      "cr/senteval_tokenized/custrev.neg",
      "cr/senteval_tokenized/custrev.pos",
      "emobank/emobank.csv",
      "goemotions/dev.tsv",
      "goemotions/ekman_mapping.json",
      "goemotions/emotions.txt",
      "goemotions/test.tsv",
      "goemotions/train.tsv",
      "imdb/aclImdb_train_test_text.tar.gz",
      "mr/rt-polarity.neg",
      "mr/rt-polarity.pos",
      "sst5/stsa.fine.dev",
      "sst5/stsa.fine.test",
      "sst5/stsa.fine.train"
    ])
    assert.deepEqual(await readFile(join(cacheDir, "emobank", "emobank.csv")), fixtureOf("emobank", "emobank.csv"))
    assert.equal(requests.length, 14, "one request a file (IMDB: the published archive)")
    assert.ok(requests.every((request) => request.range === undefined && served.has(request.path)))
    assert.deepEqual(
      events.filter((event) => event.kind === "repack").map((event) => `${event.dataset}/${event.file}`),
      ["imdb/aclImdb_train_test_text.tar.gz"]
    )

    const emobank = await run(readEmoBank(join(cacheDir, "emobank", "emobank.csv")))
    assert.equal(emobank.examples.length, 5)
    assert.deepEqual(
      emobank.examples.map((example) => example.split),
      ["train", "train", "dev", "test", "test"]
    )
    assert.ok(Math.abs((emobank.examples[0]?.valence ?? 0) - 0.22) < 1e-12)

    const goEmotions = await run(readGoEmotions(join(cacheDir, "goemotions")))
    assert.deepEqual(goEmotions.counts, { train: 3, dev: 2, test: 2 })
    assert.equal(goEmotions.emotions.length, EMOTIONS.length)
    assert.equal(goEmotions.splits.test[1]?.text, '"quoted start')

    const sst5 = await run(readSst5(join(cacheDir, "sst5")))
    assert.deepEqual([sst5.counts.train.total, sst5.counts.dev.total, sst5.counts.test.total], [3, 2, 2])

    const mr = await run(readMr(join(cacheDir, "mr")))
    assert.deepEqual(mr.examples.map((example) => example.text), ["a warm film .", "ladrón de orquídeas .", "a cold film .", "boring ."])

    const cr = await run(readCr(join(cacheDir, "cr")))
    assert.deepEqual([cr.counts.pos, cr.counts.neg, cr.counts.emptyLines], [1, 1, 1])

    const imdb = await run(readImdb(join(cacheDir, "imdb", "aclImdb_train_test_text.tar.gz")))
    assert.deepEqual(
      [imdb.counts.train.pos, imdb.counts.train.neg, imdb.counts.test.pos, imdb.counts.test.neg],
      [2, 1, 1, 2]
    )
    assert.equal(imdb.splits.train.find((example) => example.id === 0 && example.label === 1)?.text, "Bromwell High is a cartoon comedy.")
  })

  test("a second fetch is served from the cache without a request", { timeout: 20_000 }, async () => {
    const cacheDir = await freshCache()
    const first = await run(fetchDatasets(ALL, options(cacheDir)))
    requests.length = 0
    const events: Array<FetchEvent> = []
    const second = await run(fetchDatasets(ALL, options(cacheDir, { onEvent: (event) => events.push(event) })))
    assert.deepEqual(second, first)
    assert.equal(requests.length, 0, "no request on a warm cache")
    assert.equal(events.length, 14)
    assert.ok(events.every((event) => event.kind === "cached"))
  })

  test("--force downloads again what is in the cache", { timeout: 10_000 }, async () => {
    const cacheDir = await freshCache()
    await fetched("sst5", options(cacheDir))
    requests.length = 0
    await fetched("sst5", options(cacheDir, { force: true }))
    assert.equal(requests.length, 3)
  })

  test("a file of the wrong size in the cache is fetched again", { timeout: 10_000 }, async () => {
    const cacheDir = await freshCache()
    await mkdir(join(cacheDir, "emobank"))
    await writeFile(join(cacheDir, "emobank", "emobank.csv"), "id,split,V,A,D,text\n")
    await fetched("emobank", options(cacheDir))
    assert.deepEqual(await readFile(join(cacheDir, "emobank", "emobank.csv")), fixtureOf("emobank", "emobank.csv"))
  })

  test("an interrupted download is kept and resumed with a Range request", { timeout: 10_000 }, async () => {
    const cacheDir = await freshCache()
    const data = fixtureOf("emobank", "emobank.csv")
    scenario.interruptOnce.add(EMOBANK_URL_PATH)
    const error = await failure(fetchDataset("emobank", options(cacheDir)))
    assert.equal(error.dataset, "emobank")
    assert.equal(error.file, "emobank.csv")
    assert.match(error.message, new RegExp(`^download of emobank/emobank\\.csv from .* stopped after \\d+ of ${data.length} bytes \\(.+\\); .* is kept and the next fetch resumes from it$`))

    const partial = join(cacheDir, "emobank", "emobank.csv.incomplete")
    const kept = (await stat(partial)).size
    assert.ok(kept > 0 && kept < data.length, `a partial file (${kept} bytes)`)
    assert.equal(await exists(join(cacheDir, "emobank", "emobank.csv")), false)

    requests.length = 0
    const events: Array<FetchEvent> = []
    const folder = await fetched("emobank", options(cacheDir, { onEvent: (event) => events.push(event) }))
    assert.deepEqual(
      requests.map((request) => request.range),
      [`bytes=${kept}-`]
    )
    assert.deepEqual(events[0], { kind: "download", dataset: "emobank", file: "emobank.csv", url: `${mirror}${EMOBANK_URL_PATH}`, size: data.length, resumeFrom: kept })
    assert.deepEqual(await readFile(join(folder, "emobank.csv")), data)
    assert.equal(await exists(partial), false)
    assert.equal((await run(readEmoBank(join(folder, "emobank.csv")))).examples.length, 5)
  })

  test("a checksum mismatch is an error and nothing is left in the cache", { timeout: 10_000 }, async () => {
    const cacheDir = await freshCache()
    const wrong = "0".repeat(64)
    const datasets = fixtureDatasets((dataset, path, pin) => (dataset === "emobank" ? { ...pin, sha256: wrong } : pin))
    const error = await failure(fetchDataset("emobank", options(cacheDir, { datasets })))
    const actual = sha256(fixtureOf("emobank", "emobank.csv"))
    assert.equal(
      error.message,
      `checksum mismatch for emobank/emobank.csv from ${mirror}${EMOBANK_URL_PATH}: sha256 ${actual}, expected ${wrong}; the download was removed`
    )
    assert.deepEqual(await filesUnder(cacheDir), [])
  })

  test("a server announcing another size than the pinned one is refused before the download", { timeout: 10_000 }, async () => {
    const cacheDir = await freshCache()
    const datasets = fixtureDatasets((dataset, _path, pin) => (dataset === "emobank" ? { ...pin, size: pin.size + 10 } : pin))
    const size = fixtureOf("emobank", "emobank.csv").length
    const error = await failure(fetchDataset("emobank", options(cacheDir, { datasets })))
    assert.equal(
      error.message,
      `${mirror}${EMOBANK_URL_PATH} announces ${size} bytes for emobank/emobank.csv (Content-Length), not the ${size + 10} of the pinned version; nothing was downloaded`
    )
    assert.deepEqual(await filesUnder(cacheDir), [])
  })

  test("a body shorter than the pinned size is an error; the part is kept and finished next time", { timeout: 10_000 }, async () => {
    const cacheDir = await freshCache()
    const data = fixtureOf("sst5", "stsa.fine.dev")
    const path = [...served].find(([, bytes]) => bytes === data)?.[0] ?? ""
    scenario.shortBody.add(path)
    const error = await failure(fetchDataset("sst5", options(cacheDir)))
    assert.match(error.message, new RegExp(`^size mismatch for sst5/stsa\\.fine\\.dev: received ${data.length - 5} bytes from .*, expected ${data.length}; .*stsa\\.fine\\.dev\\.incomplete is kept`))
    scenario.shortBody.clear()
    requests.length = 0
    await fetched("sst5", options(cacheDir))
    assert.deepEqual(
      requests.map((request) => request.range),
      [`bytes=${data.length - 5}-`, undefined],
      "dev resumed, test fetched"
    )
    assert.deepEqual(await readFile(join(cacheDir, "sst5", "stsa.fine.dev")), data)
  })

  test("the IMDB reader also reads the published aclImdb_v1.tar.gz as it is", { timeout: 10_000 }, async () => {
    const file = join(await freshCache(), "aclImdb_v1.tar.gz")
    await writeFile(file, fixtureOf("imdb", "aclImdb_v1.tar.gz"))
    const corpus = await run(readImdb(file))
    assert.deepEqual(
      [corpus.counts.train.pos, corpus.counts.train.neg, corpus.counts.test.pos, corpus.counts.test.neg],
      [2, 1, 1, 2],
      "unsup/, .feat, vocabulary and README skipped"
    )
  })

  test("an archive with another number of reviews is refused and the download is kept", { timeout: 10_000 }, async () => {
    const cacheDir = await freshCache()
    const datasets = FIXTURE_DATASETS.map((dataset) =>
      dataset.name === "imdb" ? { ...dataset, files: dataset.files.map((file) => (file.kind === "archiveSubset" ? { ...file, entries: 50_001 } : file)) } : dataset
    )
    const error = await failure(fetchDataset("imdb", options(cacheDir, { datasets })))
    assert.match(error.message, /^cannot make imdb\/aclImdb_train_test_text\.tar\.gz from .*aclImdb_v1\.tar\.gz: 7 entries selected, expected 50001$/)
    assert.deepEqual(await filesUnder(cacheDir), ["imdb/aclImdb_v1.tar.gz"])
    requests.length = 0
    await fetched("imdb", options(cacheDir))
    assert.equal(requests.length, 0, "the archive already downloaded is used")
    assert.deepEqual(await filesUnder(cacheDir), ["imdb/aclImdb_train_test_text.tar.gz"])
  })
})

describe("fetchDataset without the network", () => {
  test("an unreachable host gives one line that says what to do", { timeout: 10_000 }, async () => {
    const closed = await startServer(() => undefined)
    const closedOrigin = origin(closed)
    await stopServer(closed)
    const cacheDir = await freshCache()
    const error = await failure(fetchDataset("emobank", options(cacheDir, { mirror: closedOrigin })))
    assert.equal(
      error.message,
      `cannot reach ${new URL(closedOrigin).host} to download emobank/emobank.csv: connection refused; download it yourself from ${closedOrigin}${EMOBANK_URL_PATH} into ${join(cacheDir, "emobank", "emobank.csv")}`
    )
  })

  test("a host that accepts but never answers times out with the same line", { timeout: 10_000 }, async () => {
    const silent = await startServer(() => undefined)
    try {
      const cacheDir = await freshCache()
      const error = await failure(fetchDataset("emobank", options(cacheDir, { mirror: origin(silent), timeoutMs: 300 })))
      assert.match(error.message, /^cannot reach 127\.0\.0\.1:\d+ to download emobank\/emobank\.csv: no response for 0\.3s; download it yourself from /)
    } finally {
      await stopServer(silent)
    }
  })

  test("offline: a warm cache needs no server, a cold one names the file and where it goes", { timeout: 10_000 }, async () => {
    const cacheDir = await freshCache()
    const online = await fetched("cr", options(cacheDir))
    requests.length = 0
    assert.equal(await fetched("cr", options(cacheDir, { offline: true, mirror: "http://127.0.0.1:9" })), online)
    const cold = await freshCache()
    const error = await failure(fetchDataset("cr", options(cold, { offline: true })))
    assert.equal(
      error.message,
      `offline and cr/senteval_tokenized/custrev.pos is not in the cache; download it from ${mirror}${urlPathOf("cr")} into ${join(cold, "cr", "senteval_tokenized", "custrev.pos")}`
    )
    assert.equal(requests.length, 0)
  })

  test("an unknown dataset is an error that lists the six, before anything is downloaded", { timeout: 10_000 }, async () => {
    const cacheDir = await freshCache()
    const error = await failure(fetchDatasets(["emobank", "nope"], options(cacheDir)))
    assert.equal(error.message, "unknown dataset 'nope'; known: emobank, goemotions, sst5, mr, cr, imdb")
    assert.equal(requests.length, 0)
    assert.deepEqual(await filesUnder(cacheDir), [])
  })

  test("a mirror that is not an http(s) URL is an error", { timeout: 10_000 }, async () => {
    const error = await failure(fetchDataset("emobank", options(await freshCache(), { mirror: "ftp//nowhere" })))
    assert.equal(error.message, "the data mirror 'ftp//nowhere' (CARL_DATA_MIRROR) is not an http(s) URL")
  })
})

// ---------------------------------------------------------------- the CLI

interface Run {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

const carl = (args: ReadonlyArray<string>, env: Readonly<Record<string, string>>): Promise<Run> =>
  new Promise((resolve, reject) => {
    const childEnv: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1", ...env }
    delete childEnv["CARL_DATA_DIR"]
    const child = spawn(process.execPath, ["--import", "tsx", "bin/carl.ts", ...args], {
      cwd: REPO_ROOT,
      env: childEnv,
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 60_000
    })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    child.on("error", reject)
    child.on("close", (status) => resolve({ status, stdout, stderr }))
  })

const describeRun = (result: Run): string => `exit ${result.status}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`

describe("carl data", { concurrency: 2 }, () => {
  test(
    "data fetch emobank --data-dir <dir> with CARL_DATA_MIRROR exits 0 and prints the folder",
    { timeout: 60_000, skip: existsSync(REAL_EMOBANK) ? false : `no ${REAL_EMOBANK} to serve with its pinned sha256` },
    async () => {
      const cacheDir = await freshCache()
      const result = await carl(["data", "fetch", "emobank", "--data-dir", cacheDir], { CARL_DATA_MIRROR: `${mirror}/real` })
      assert.equal(result.status, 0, describeRun(result))
      assert.equal(result.stdout, `${join(cacheDir, "emobank")}\n`)
      assert.match(result.stderr, /^emobank\/emobank\.csv: downloading 1\.3 MB from http:\/\/127\.0\.0\.1:\d+\/real\/JULIELab\/EmoBank\//)
      assert.deepEqual(await readFile(join(cacheDir, "emobank", "emobank.csv")), await readFile(REAL_EMOBANK))
      const corpus = await run(readEmoBank(join(cacheDir, "emobank", "emobank.csv")))
      assert.equal(corpus.examples.length, 10_062)
    }
  )

  test("data fetch nope exits 1 with one carl: line", { timeout: 60_000 }, async () => {
    const result = await carl(["data", "fetch", "nope", "--data-dir", await freshCache()], { CARL_DATA_MIRROR: mirror })
    assert.equal(result.status, 1, describeRun(result))
    assert.equal(result.stderr, "carl: unknown dataset 'nope'; known: emobank, goemotions, sst5, mr, cr, imdb\n")
    assert.equal(result.stdout, "")
  })
})
