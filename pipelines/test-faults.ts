/**
 * Fault injection for the reliability tests, through core's seams (core/atomic-file.ts's
 * setWriteFault, core/train-step.ts's setStepFaults), off unless the environment variable
 * CARL_TEST_FAULT is set; the fault tests (test/faults.test.ts, test/numerics-guards.test.ts,
 * test/out-of-memory.test.ts) set it for one process or one run. Training imports this module. One
 * fault at a time:
 *
 *   pause:<file name>:<n>    the n-th atomic write (core/atomic-file.ts) of a file with that base
 *                            name writes half of its bytes, prints
 *                            "carl-test-fault: paused writing <temporary file>" on stderr and
 *                            waits ten minutes, for the test to kill the process mid-write;
 *   enospc:<file name>:<n>   the n-th such write fails after half of its bytes, as on a full disk;
 *   nan-gradient:<step>      optimiser step <step> (counted from 1) gets a NaN in one gradient
 *                            (core/train-step.ts), as an overflow would leave it;
 *   heap-full:<step>         optimiser step <step> throws the wasm heap guard's HeapExhausted, as
 *                            a step that does not fit the 4 GiB heap does (core/out-of-memory.ts);
 *   js-heap:<step>           optimiser step <step> fills the JavaScript heap until V8 stops the
 *                            process (run it with a small --max-old-space-size).
 *
 * Writes are counted from 1 per value of the variable, in this process.
 */
import { basename } from "node:path"
import { setWriteFault, type WriteFault } from "../core/atomic-file.ts"
import { HeapExhausted } from "../core/out-of-memory.ts"
import { setStepFaults } from "../core/train-step.ts"

const counts = new Map<string, number>()

const spec = (): ReadonlyArray<string> | undefined => {
  const value = process.env["CARL_TEST_FAULT"]
  return value === undefined || value === "" ? undefined : value.split(":")
}

/** The fault asked for on this atomic write of `path`, if any. */
export const writeFault = (path: string): WriteFault | undefined => {
  const parts = spec()
  if (parts === undefined) return undefined
  const [action, name, nth] = parts
  if ((action !== "pause" && action !== "enospc") || name !== basename(path)) return undefined
  const key = parts.join(":")
  const count = (counts.get(key) ?? 0) + 1
  counts.set(key, count)
  return count === Number(nth ?? "1") ? action : undefined
}

/** Whether optimiser step `step` (counted from 1) is to get a NaN gradient. */
const nanGradientAt = (step: number): boolean => {
  const parts = spec()
  return parts !== undefined && parts[0] === "nan-gradient" && Number(parts[1]) === step
}

/** The fault `kind` asked for at optimiser step `step` (counted from 1). */
const faultAtStep = (kind: "heap-full" | "js-heap", step: number): boolean => {
  const parts = spec()
  return parts !== undefined && parts[0] === kind && Number(parts[1]) === step
}

/** The step faults: a HeapExhausted or a full JavaScript heap before the pass, a NaN gradient after it. */
const beforePass = (step: number): void => {
  if (faultAtStep("heap-full", step)) throw new HeapExhausted(256 * 2 ** 20, 4096 * 2 ** 20)
  if (faultAtStep("js-heap", step)) {
    const filler: Array<Array<number>> = []
    for (;;) filler.push(Array.from({ length: 1 << 20 }, (_, i) => i + filler.length))
  }
}

// Importing this module arms the seams; each reads CARL_TEST_FAULT when it is consulted, so nothing
// happens unless the variable is set.
setWriteFault(writeFault)
setStepFaults({ beforePass, nanGradient: nanGradientAt })
