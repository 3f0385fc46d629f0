/**
 * Running out of memory, caught where it happens and told apart from other failures:
 *   - tfjs-backend-wasm asks its heap for every tensor through `_malloc`, which returns 0 when the
 *     heap cannot grow (4 GiB at most), or near 4 GiB an address past the heap's end;
 *     `guardWasmHeap` makes either a `HeapExhausted` error thrown before the address is used,
 *     instead of the abort or out-of-bounds access that followed;
 *   - an allocation inside the wasm module's own C++ aborts it ("Aborted()");
 *   - a typed array the process cannot allocate is a RangeError (cpu-based backends).
 */
const MB = 2 ** 20

/** A wasm heap allocation that could not be made. */
export class HeapExhausted extends Error {
  constructor(
    readonly requestedBytes: number,
    readonly heapBytes: number
  ) {
    super(`the wasm heap could not give ${(requestedBytes / MB).toFixed(0)} MB (it holds ${(heapBytes / MB).toFixed(0)} MB and stops at 4096 MB)`)
    this.name = "HeapExhausted"
  }
}

interface WasmModule {
  _malloc: (bytes: number) => number
  _free: (address: number) => void
  readonly HEAPU8: Uint8Array
}

/** Bytes tfjs holds on a wasm heap now and at most since the last reset: what tensors really take. */
export interface HeapMeter {
  live(): number
  peak(): number
  resetPeak(): void
}

const meters = new WeakMap<object, HeapMeter>()

/**
 * Replaces an Emscripten export that replaces itself with the raw export on its first call (as
 * `_malloc` and `_free` do): the wrapper sits behind a property whose setter keeps what is
 * assigned inside it.
 */
const wrapExport = <F extends (...args: Array<never>) => unknown>(wasm: object, name: string, original: F, wrap: (inner: () => F) => F): void => {
  let inner = original
  const wrapped = wrap(() => inner)
  Object.defineProperty(wasm, name, {
    configurable: true,
    get: () => wrapped,
    set: (replacement: F) => {
      inner = replacement
    }
  })
}

/**
 * Makes a failed heap allocation of a tfjs-backend-wasm instance (or one built on it) throw
 * HeapExhausted, and meters what its allocations hold (tfjs asks `_malloc` for every tensor and
 * `_free`s it when disposed; the engine's own byte count counts shared memory once per tensor).
 */
export const guardWasmHeap = (backend: object): void => {
  const wasm = (backend as { readonly wasm?: WasmModule }).wasm
  if (wasm === undefined || meters.has(wasm)) return
  const sizes = new Map<number, number>()
  let live = 0
  let peak = 0
  wrapExport(wasm, "_malloc", wasm._malloc, (inner) => (bytes: number) => {
    const address = inner()(bytes) >>> 0
    // Near 4 GiB the 32-bit allocator may also wrap around and hand out memory past the heap's end.
    if (bytes > 0 && (address === 0 || address + bytes > wasm.HEAPU8.length)) throw new HeapExhausted(bytes, wasm.HEAPU8.length)
    sizes.set(address, bytes)
    live += bytes
    peak = Math.max(peak, live)
    return address
  })
  wrapExport(wasm, "_free", wasm._free, (inner) => (address: number) => {
    live -= sizes.get(address >>> 0) ?? 0
    sizes.delete(address >>> 0)
    inner()(address)
  })
  const meter: HeapMeter = {
    live: () => live,
    peak: () => peak,
    resetPeak: () => {
      peak = live
    }
  }
  meters.set(wasm, meter)
  meters.set(backend, meter)
}

/** The heap meter of a guarded wasm backend, if `backend` is one. */
export const heapMeter = (backend: object): HeapMeter | undefined => meters.get(backend)

/** What ran out, if `error` is running out of memory: one phrase for the message. */
export const outOfMemoryCause = (error: unknown): string | undefined => {
  if (error instanceof HeapExhausted) return error.message
  if (!(error instanceof Error)) return undefined
  const message = error.message
  if (error.name === "RuntimeError" && message.startsWith("Aborted(")) {
    return "the wasm module aborted (its heap, which stops at 4 GiB, was most likely full)"
  }
  if (error instanceof RangeError && /Array buffer allocation failed|Invalid (typed )?array( buffer)? length/i.test(message)) {
    return `the process could not allocate a tensor (${message})`
  }
  if (/out of memory|cannot allocate memory|ENOMEM/i.test(message)) return message
  return undefined
}
