/**
 * A test file's temporary folder: made when the file is loaded (synchronously: Node 20 runs a
 * file's top-level before() hooks without waiting for one another, so a hook could not make it
 * in time for the file's own) and removed after its tests.
 */
import { mkdtempSync } from "node:fs"
import { rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after } from "node:test"

/** Makes the folder; the function returned joins `parts` to it (no parts: the folder itself). */
export const temporaryFolder = (prefix: string): ((...parts: ReadonlyArray<string>) => string) => {
  const root = mkdtempSync(join(tmpdir(), prefix))
  after(async () => {
    await rm(root, { recursive: true, force: true })
  })
  return (...parts) => join(root, ...parts)
}
