/**
 * Just enough of the Chrome DevTools Protocol to load a page in Debian's headless Chromium and
 * inspect it, without a browser-automation dependency. The browser is driven over
 * `--remote-debugging-pipe`: commands are written to its fd 3 and replies and events read from
 * its fd 4, each message a JSON text ended by a NUL byte. A pipe needs no WebSocket client (Node
 * 20 has none) and no port, so parallel test runs cannot collide.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { existsSync } from "node:fs"
import type { Readable, Writable } from "node:stream"

export const CHROMIUM_PATH = "/usr/bin/chromium"

export const chromiumAvailable = (): boolean => existsSync(CHROMIUM_PATH)

export interface CdpEvent {
  readonly method: string
  readonly params: Readonly<Record<string, unknown>>
  readonly sessionId: string | undefined
}

interface Pending {
  readonly method: string
  readonly resolve: (result: unknown) => void
  readonly reject: (error: Error) => void
  readonly timer: NodeJS.Timeout
}

export interface Chromium {
  /** Sends a command, to the browser or (with a session id) to one page; resolves with its result. */
  readonly send: <R = Record<string, unknown>>(method: string, params?: Record<string, unknown>, sessionId?: string) => Promise<R>
  /** Every event from now on; returns the unsubscribe function. */
  readonly onEvent: (listener: (event: CdpEvent) => void) => () => void
  /** The first matching event from now on. */
  readonly waitForEvent: (method: string, sessionId: string | undefined, timeoutMs: number) => Promise<CdpEvent>
  /** Ends the browser: politely, then by SIGKILL to its process group. Safe to call twice. */
  readonly close: () => Promise<void>
  /** What the browser wrote on stderr, for failure messages. */
  readonly stderr: () => string
}

export interface LaunchOptions {
  readonly userDataDir: string
  /** Per-command limit: a wedged browser fails the test instead of hanging it. */
  readonly commandTimeoutMs?: number
}

const exited = (child: ChildProcess): boolean => child.exitCode !== null || child.signalCode !== null

const waitForExit = (child: ChildProcess, timeoutMs: number): Promise<boolean> =>
  exited(child)
    ? Promise.resolve(true)
    : new Promise((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs)
        child.once("exit", () => {
          clearTimeout(timer)
          resolve(true)
        })
      })

export const launchChromium = async (options: LaunchOptions): Promise<Chromium> => {
  const commandTimeoutMs = options.commandTimeoutMs ?? 10_000
  const child = spawn(
    CHROMIUM_PATH,
    [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--hide-scrollbars",
      "--mute-audio",
      `--user-data-dir=${options.userDataDir}`,
      "--remote-debugging-pipe",
      "about:blank"
    ],
    // Its own process group, so close() can end the renderer and helper processes with it.
    { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"], detached: true }
  )
  const toBrowser = child.stdio[3] as Writable
  const fromBrowser = child.stdio[4] as Readable
  let stderr = ""
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-8_000)
  })

  let nextId = 1
  const pending = new Map<number, Pending>()
  const listeners = new Set<(event: CdpEvent) => void>()
  const failAll = (error: Error): void => {
    for (const [id, entry] of pending) {
      clearTimeout(entry.timer)
      pending.delete(id)
      entry.reject(error)
    }
  }

  let buffered = Buffer.alloc(0)
  fromBrowser.on("data", (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk])
    for (let end = buffered.indexOf(0); end !== -1; end = buffered.indexOf(0)) {
      const text = buffered.subarray(0, end).toString("utf8")
      buffered = buffered.subarray(end + 1)
      const message = JSON.parse(text) as {
        readonly id?: number
        readonly result?: unknown
        readonly error?: { readonly message: string }
        readonly method?: string
        readonly params?: Record<string, unknown>
        readonly sessionId?: string
      }
      if (message.id !== undefined) {
        const entry = pending.get(message.id)
        if (entry === undefined) continue
        pending.delete(message.id)
        clearTimeout(entry.timer)
        if (message.error !== undefined) entry.reject(new Error(`${entry.method}: ${message.error.message}`))
        else entry.resolve(message.result)
      } else if (message.method !== undefined) {
        const event: CdpEvent = { method: message.method, params: message.params ?? {}, sessionId: message.sessionId }
        for (const listener of listeners) listener(event)
      }
    }
  })
  // A closed pipe during close() is expected; anything else surfaces through the pending commands.
  fromBrowser.on("error", () => undefined)
  toBrowser.on("error", () => undefined)
  child.on("exit", (code, signal) => failAll(new Error(`chromium exited (code ${code}, signal ${signal})\n${stderr}`)))
  const started = new Promise<void>((resolve, reject) => {
    child.once("spawn", resolve)
    child.once("error", reject)
  })
  await started

  const send = <R = Record<string, unknown>>(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<R> =>
    new Promise<R>((resolve, reject) => {
      if (exited(child)) {
        reject(new Error(`${method}: chromium is not running\n${stderr}`))
        return
      }
      const id = nextId++
      const timer = setTimeout(() => {
        pending.delete(id)
        reject(new Error(`${method}: no reply within ${commandTimeoutMs} ms\n${stderr}`))
      }, commandTimeoutMs)
      pending.set(id, { method, resolve: (result) => resolve(result as R), reject, timer })
      toBrowser.write(`${JSON.stringify({ id, method, params, ...(sessionId === undefined ? {} : { sessionId }) })}\0`)
    })

  const onEvent = (listener: (event: CdpEvent) => void): (() => void) => {
    listeners.add(listener)
    return () => listeners.delete(listener)
  }

  const waitForEvent = (method: string, sessionId: string | undefined, timeoutMs: number): Promise<CdpEvent> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        stop()
        reject(new Error(`no ${method} event within ${timeoutMs} ms`))
      }, timeoutMs)
      const stop = onEvent((event) => {
        if (event.method !== method || (sessionId !== undefined && event.sessionId !== sessionId)) return
        clearTimeout(timer)
        stop()
        resolve(event)
      })
    })

  const killGroup = (): void => {
    if (child.pid === undefined) return
    try {
      process.kill(-child.pid, "SIGKILL")
    } catch {
      // ESRCH: the group is already gone.
    }
  }

  // Should the test process exit with the browser still up (a timeout, an uncaught error), take
  // the browser down with it; a closed pipe also ends Chromium, this covers its helpers.
  process.once("exit", killGroup)

  let closing: Promise<void> | undefined
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      if (!exited(child)) {
        await Promise.race([send("Browser.close").catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 2_000))])
        if (!(await waitForExit(child, 3_000))) killGroup()
      }
      // Helpers that outlive the browser process (a zygote, a crashpad handler) share its group.
      killGroup()
      await waitForExit(child, 2_000)
      process.removeListener("exit", killGroup)
      failAll(new Error("chromium closed"))
      listeners.clear()
      fromBrowser.destroy()
      toBrowser.destroy()
    })())

  return { send, onEvent, waitForEvent, close, stderr: () => stderr }
}

/** A page of its own: a new target, attached in flat mode so commands carry its session id. */
export const openPage = async (browser: Chromium): Promise<{ readonly targetId: string; readonly sessionId: string }> => {
  const { targetId } = await browser.send<{ targetId: string }>("Target.createTarget", { url: "about:blank" })
  const { sessionId } = await browser.send<{ sessionId: string }>("Target.attachToTarget", { targetId, flatten: true })
  return { targetId, sessionId }
}

/** A browser test's `skip`: false where Chromium is installed, else why not. */
export const CHROMIUM_SKIP = chromiumAvailable() ? false : `${CHROMIUM_PATH} is not installed (apt-get install chromium; .ci/run does)`

/** What a page did that a test checks, collected as it happens. */
export interface PageWatch {
  /** Console errors and failed asserts, uncaught exceptions, error log entries. */
  readonly problems: Array<string>
  /** Every request the page made, in order. */
  readonly requests: Array<string>
  /** The type of every console call. */
  readonly consoleTypes: Array<string>
}

/** Enables the Runtime, Log, Network and Page domains of the page and collects what they report. */
export const watchPage = async (browser: Chromium, sessionId: string): Promise<PageWatch> => {
  const watch: PageWatch = { problems: [], requests: [], consoleTypes: [] }
  browser.onEvent((event: CdpEvent) => {
    if (event.sessionId !== sessionId) return
    const params = event.params as Record<string, unknown> & {
      readonly type?: string
      readonly entry?: { readonly level?: string; readonly text?: string; readonly url?: string }
      readonly request?: { readonly url?: string }
      readonly exceptionDetails?: { readonly text?: string }
    }
    if (event.method === "Runtime.consoleAPICalled") {
      watch.consoleTypes.push(params.type ?? "")
      if (params.type === "error" || params.type === "assert") watch.problems.push(`console.${params.type}: ${JSON.stringify(params["args"])}`)
    }
    if (event.method === "Runtime.exceptionThrown") watch.problems.push(`exception: ${params.exceptionDetails?.text ?? ""}`)
    if (event.method === "Log.entryAdded" && params.entry?.level === "error") watch.problems.push(`log ${params.entry.level}: ${params.entry.text ?? ""} ${params.entry.url ?? ""}`)
    if (event.method === "Network.requestWillBeSent") watch.requests.push(params.request?.url ?? "")
  })
  for (const domain of ["Runtime", "Log", "Network", "Page"]) await browser.send(`${domain}.enable`, {}, sessionId)
  return watch
}

/** Navigates the page to `url` and waits for its load event. */
export const navigate = async (browser: Chromium, sessionId: string, url: string): Promise<void> => {
  const loaded = browser.waitForEvent("Page.loadEventFired", sessionId, 10_000)
  await browser.send("Page.navigate", { url }, sessionId)
  await loaded
}
