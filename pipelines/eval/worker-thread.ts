/**
 * Request/reply over a worker thread running a TypeScript entry file. The worker sets itself up
 * (loads a model, say), says it is ready, then answers requests one by one; a failed setup or
 * request comes back as a typed error rather than a crashed thread.
 *
 * Worker threads do not inherit tsx's module hooks, so each thread registers them before it
 * imports its entry.
 */
import { parentPort, Worker } from "node:worker_threads"
import { Effect, Schema } from "effect"

export class WorkerThreadError extends Schema.TaggedError<WorkerThreadError>()("WorkerThreadError", {
  worker: Schema.String,
  problem: Schema.String
}) {
  override get message(): string {
    return `${this.worker}: ${this.problem}`
  }
}

type ToWorker<Request> = { readonly id: number; readonly request: Request }

type FromWorker<Reply> =
  | { readonly type: "ready" }
  | { readonly type: "setupFailed"; readonly problem: string }
  | { readonly type: "reply"; readonly id: number; readonly reply: Reply }
  | { readonly type: "failed"; readonly id: number; readonly problem: string }

export interface WorkerThread<Request, Reply> {
  readonly request: (request: Request, transfer?: ReadonlyArray<ArrayBuffer>) => Effect.Effect<Reply, WorkerThreadError>
  readonly terminate: Effect.Effect<void>
}

const problemOf = (error: unknown) => (error instanceof Error ? error.message : String(error))

const bootstrap = (entry: URL): string => {
  const tsx = import.meta.resolve("tsx/esm/api")
  return `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}) })`
}

/** Starts `entry` (a module that calls `serveRequests`) with `setup` as its workerData; succeeds once it is ready. */
export const startWorkerThread = <Request, Reply>(name: string, entry: URL, setup: unknown): Effect.Effect<WorkerThread<Request, Reply>, WorkerThreadError> =>
  Effect.callback<WorkerThread<Request, Reply>, WorkerThreadError>((resume) => {
    const worker = new Worker(bootstrap(entry), { eval: true, workerData: setup })
    const fail = (problem: string) => new WorkerThreadError({ worker: name, problem })
    const pending = new Map<number, (outcome: Effect.Effect<Reply, WorkerThreadError>) => void>()
    let nextId = 0
    let ready = false
    const failAll = (problem: string) => {
      for (const settle of pending.values()) settle(Effect.fail(fail(problem)))
      pending.clear()
    }
    const thread: WorkerThread<Request, Reply> = {
      request: (request, transfer = []) =>
        Effect.callback((settle) => {
          const id = nextId++
          pending.set(id, settle)
          const message: ToWorker<Request> = { id, request }
          worker.postMessage(message, [...transfer])
        }),
      terminate: Effect.promise(() => worker.terminate()).pipe(Effect.asVoid)
    }
    worker.on("message", (message: FromWorker<Reply>) => {
      switch (message.type) {
        case "ready":
          ready = true
          resume(Effect.succeed(thread))
          return
        case "setupFailed":
          resume(Effect.fail(fail(message.problem)))
          void worker.terminate()
          return
        case "reply":
        case "failed": {
          const settle = pending.get(message.id)
          pending.delete(message.id)
          settle?.(message.type === "reply" ? Effect.succeed(message.reply) : Effect.fail(fail(message.problem)))
        }
      }
    })
    worker.on("error", (error) => {
      if (!ready) resume(Effect.fail(fail(error.message)))
      failAll(error.message)
    })
    worker.on("exit", (code) => failAll(`the thread exited (code ${code})`))
  })

/** The worker's side: run `setup` once, then answer each request with `handle`'s reply (and the buffers to transfer). */
export const serveRequests = async <Request, Reply>(
  setup: () => Promise<
    (request: Request) => { readonly reply: Reply; readonly transfer?: ReadonlyArray<ArrayBuffer> } | Promise<{ readonly reply: Reply; readonly transfer?: ReadonlyArray<ArrayBuffer> }>
  >
): Promise<void> => {
  const port = parentPort
  if (port === null) return
  const send = (message: FromWorker<Reply>, transfer: ReadonlyArray<ArrayBuffer> = []) => port.postMessage(message, [...transfer])
  let handle: Awaited<ReturnType<typeof setup>>
  try {
    handle = await setup()
  } catch (error) {
    send({ type: "setupFailed", problem: problemOf(error) })
    return
  }
  port.on("message", ({ id, request }: ToWorker<Request>) => {
    // The caller sends one request at a time, so handlers never overlap.
    Promise.resolve()
      .then(() => handle(request))
      .then(
        ({ reply, transfer }) => send({ type: "reply", id, reply }, transfer),
        (error: unknown) => send({ type: "failed", id, problem: problemOf(error) })
      )
  })
  send({ type: "ready" })
}

/**
 * Runs `jobs` on `threads`, each thread taking the next job when it finishes one (so a thread
 * slowed by another process on its core takes fewer), calling `done` as each job completes.
 */
export const runOnThreads = <Job, Result, E>(
  threads: ReadonlyArray<{ readonly run: (job: Job) => Effect.Effect<Result, E> }>,
  jobs: ReadonlyArray<Job>,
  done: (job: Job, result: Result) => Effect.Effect<void> = () => Effect.void
): Effect.Effect<Array<Result>, E> =>
  Effect.gen(function* () {
    const results: Array<Result> = new Array(jobs.length)
    let next = 0
    yield* Effect.forEach(
      threads,
      (thread) =>
        Effect.gen(function* () {
          while (next < jobs.length) {
            const index = next++
            const job = jobs[index] as Job
            const result = yield* thread.run(job)
            results[index] = result
            yield* done(job, result)
          }
        }),
      { concurrency: "unbounded", discard: true }
    )
    return results
  })
