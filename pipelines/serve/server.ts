/**
 * The HTTP side of `carl serve`: one page, its script and style, and two JSON endpoints. Every
 * request is answered: a bad one with a 4xx and a one-line message as JSON, a failure inside with
 * a 500 — never a crash. Requests are limited in size and rate, and, when the server listens on
 * loopback only, must name a loopback host (so a web page elsewhere cannot reach it through DNS
 * rebinding). Nothing on the page loads from anywhere but this server (its Content-Security-Policy
 * says so to the browser too).
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import type { RateLimiter } from "./rate-limit.ts"

export interface ServeLimits {
  /** Largest request body accepted (bytes). */
  readonly maxBodyBytes: number
  /** Longest text embedded (characters). */
  readonly maxTextChars: number
}

export const SERVE_LIMITS: ServeLimits = { maxBodyBytes: 16_384, maxTextChars: 5_000 }

export interface ServeApp {
  /** What the page shows before any text: the model, its head, the reference corpus on the map. */
  readonly info: unknown
  /** Valence, arousal, nearest reference sentences and the map position of one text. */
  readonly predict: (text: string) => unknown
}

export interface Asset {
  readonly type: string
  readonly body: string
}

const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/** A request the server refuses, with its status and message. */
class Refusal {
  constructor(
    readonly status: number,
    readonly message: string
  ) {}
}

const send = (response: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}) => {
  response.writeHead(status, {
    "content-type": type,
    "content-length": Buffer.byteLength(body),
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "content-security-policy": CONTENT_SECURITY_POLICY,
    ...headers
  })
  response.end(body)
}

const sendJson = (response: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}) =>
  send(response, status, "application/json; charset=utf-8", `${JSON.stringify(value)}\n`, headers)

/** The body as text, refused past `limit` bytes (the rest is not read into memory). */
const readBody = (request: IncomingMessage, limit: number): Promise<string> =>
  new Promise((resolve, reject) => {
    const declared = Number(request.headers["content-length"] ?? Number.NaN)
    if (Number.isFinite(declared) && declared > limit) {
      reject(new Refusal(413, `request body of ${declared} bytes; the limit is ${limit}`))
      request.resume()
      return
    }
    const chunks: Array<Buffer> = []
    let size = 0
    request.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        // Refuse now; what is still coming is read and dropped, so the 413 reaches the client.
        reject(new Refusal(413, `request body over ${limit} bytes`))
        request.removeAllListeners("data")
        request.resume()
        return
      }
      chunks.push(chunk)
    })
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    request.on("error", reject)
  })

/** `{"text": "..."}`, checked: anything else is a 400 (or 413 for a text past the limit) naming what is wrong. */
const parsePredictRequest = (body: string, limits: ServeLimits): string => {
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch {
    throw new Refusal(400, 'the body is not JSON; send {"text": "..."}')
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Refusal(400, 'send a JSON object: {"text": "..."}')
  const text = (parsed as Record<string, unknown>)["text"]
  if (typeof text !== "string") throw new Refusal(400, `"text" must be a string, got ${text === undefined ? "nothing" : typeof text}`)
  if (text.length > limits.maxTextChars) throw new Refusal(413, `text of ${text.length} characters; the limit is ${limits.maxTextChars}`)
  return text
}

export interface HandlerOptions {
  /** Undefined while the model loads: requests for it get a 503 until then. */
  readonly app: () => ServeApp | undefined
  readonly assets: Readonly<Record<string, Asset>>
  readonly limits: ServeLimits
  readonly rateLimiter: RateLimiter
  /**
   * Accept only the loopback names of the port the request came in on (a page on another host
   * name reaching it by DNS rebinding gets a 403); false accepts any (the server listens beyond
   * loopback).
   */
  readonly loopbackOnly: boolean
  /** Called with each failure inside the server (a 500), for the log. */
  readonly onError: (error: unknown) => void
}

export const createHandler =
  (options: HandlerOptions) =>
  (request: IncomingMessage, response: ServerResponse): void => {
    const respond = async () => {
      const port = request.socket.localPort
      if (options.loopbackOnly && ![`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`].includes((request.headers.host ?? "").toLowerCase())) {
        throw new Refusal(403, `host ${JSON.stringify(request.headers.host ?? "")} is not this server's; open it as http://localhost`)
      }
      if (!options.rateLimiter.take(request.socket.remoteAddress ?? "", Date.now())) throw new Refusal(429, "too many requests; slow down")
      const path = new URL(request.url ?? "/", "http://localhost").pathname
      const method = request.method ?? "GET"
      const app = path.startsWith("/api/") ? options.app() : undefined
      if (path.startsWith("/api/") && app === undefined) throw new Refusal(503, "the model is still loading; try again in a moment")
      if (app !== undefined && path === "/api/predict") {
        if (method !== "POST") throw new Refusal(405, "use POST with a JSON body {\"text\": \"...\"}")
        const text = parsePredictRequest(await readBody(request, options.limits.maxBodyBytes), options.limits)
        sendJson(response, 200, app.predict(text))
        return
      }
      if (method !== "GET" && method !== "HEAD") throw new Refusal(405, `${method} is not served here`)
      if (app !== undefined && path === "/api/info") {
        sendJson(response, 200, app.info)
        return
      }
      if (path === "/favicon.ico") {
        response.writeHead(204, { "cache-control": "max-age=86400" }).end()
        return
      }
      const asset = options.assets[path === "/" ? "/index.html" : path]
      if (asset === undefined) throw new Refusal(404, `no ${path} here`)
      send(response, 200, asset.type, asset.body)
    }
    respond().catch((error: unknown) => {
      if (response.headersSent) {
        response.destroy()
        return
      }
      if (error instanceof Refusal) {
        sendJson(response, error.status, { error: error.message }, error.status === 429 || error.status === 503 ? { "retry-after": "1" } : {})
        return
      }
      options.onError(error)
      sendJson(response, 500, { error: "the server failed on this request; see its log" })
    })
  }
