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
  readonly HEAPU8: Uint8Array
}

const guarded = new WeakSet<object>()

/**
 * Makes a failed heap allocation of a tfjs-backend-wasm instance (or one built on it) throw
 * HeapExhausted. Emscripten's `_malloc` is a stub that replaces itself with the raw export on its
 * first call, so the guard sits behind a property whose setter keeps whatever is assigned inside it.
 */
export const guardWasmHeap = (backend: object): void => {
  const wasm = (backend as { readonly wasm?: WasmModule }).wasm
  if (wasm === undefined || guarded.has(wasm)) return
  let malloc = wasm._malloc
  const guard = (bytes: number): number => {
    const address = malloc(bytes) >>> 0
    // Near 4 GiB the 32-bit allocator may also wrap around and hand out memory past the heap's end.
    if (bytes > 0 && (address === 0 || address + bytes > wasm.HEAPU8.length)) throw new HeapExhausted(bytes, wasm.HEAPU8.length)
    return address
  }
  Object.defineProperty(wasm, "_malloc", {
    configurable: true,
    get: () => guard,
    set: (replacement: (bytes: number) => number) => {
      malloc = replacement
    }
  })
  guarded.add(wasm)
}

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
