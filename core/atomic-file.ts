/**
 * Whole-or-nothing file writes: a reader (or a run killed mid-save) sees either the old file or
 * the new one, never half of one. The bytes go to a temporary file beside the target, are flushed
 * to disk, and the temporary file is renamed over the target (rename is atomic within a folder).
 */
import { randomBytes } from "node:crypto"
import { copyFile, open, rename, rm } from "node:fs/promises"

const temporaryPath = (path: string): string => `${path}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`

const replaceWith = async (path: string, fill: (temporary: string) => Promise<void>): Promise<void> => {
  const temporary = temporaryPath(path)
  try {
    await fill(temporary)
    await rename(temporary, path)
  } catch (error) {
    await rm(temporary, { force: true })
    throw error
  }
}

export const writeFileAtomic = (path: string, data: Uint8Array | string): Promise<void> =>
  replaceWith(path, async (temporary) => {
    const handle = await open(temporary, "w")
    try {
      await handle.writeFile(data)
      await handle.sync()
    } finally {
      await handle.close()
    }
  })

export const copyFileAtomic = (source: string, destination: string): Promise<void> =>
  replaceWith(destination, async (temporary) => {
    await copyFile(source, temporary)
    const handle = await open(temporary, "r+")
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  })
