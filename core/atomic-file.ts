/**
 * Whole-or-nothing file writes: a reader (or a run killed mid-save) sees either the old file or
 * the new one, never half of one. The bytes go to a temporary file beside the target, are flushed
 * to disk, the temporary file is renamed over the target (rename is atomic within a folder), and
 * the folder is flushed so the rename itself survives a power cut. A failed write removes its
 * temporary file and leaves the target as it was.
 *
 * A write can be made to stop half way, to prove the above (`setWriteFault`; the fault tests set it
 * through pipelines/test-faults.ts).
 */
import { randomBytes } from "node:crypto"
import { copyFile, open, rename, rm } from "node:fs/promises"
import { dirname } from "node:path"

/** A write stopped half way: "pause" waits (for a kill), "enospc" fails as a full disk does. */
export type WriteFault = "pause" | "enospc"

let writeFault: (path: string) => WriteFault | undefined = () => undefined

/** Decides, for each atomic write, whether it stops half way (for fault tests; none by default). */
export const setWriteFault = (decide: (path: string) => WriteFault | undefined): void => {
  writeFault = decide
}

const temporaryPath = (path: string): string => `${path}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`

/** Flushes a folder's entries (a rename in it) to disk; not every platform can open a folder, so best effort. */
const syncFolder = async (folder: string): Promise<void> => {
  const handle = await open(folder, "r").catch(() => undefined)
  if (handle === undefined) return
  try {
    await handle.sync()
  } catch {
    // Windows and some file systems refuse fsync on a folder; the rename is still atomic.
  } finally {
    await handle.close()
  }
}

const replaceWith = async (path: string, fill: (temporary: string) => Promise<void>): Promise<void> => {
  const temporary = temporaryPath(path)
  try {
    await fill(temporary)
    await rename(temporary, path)
  } catch (error) {
    await rm(temporary, { force: true })
    throw error
  }
  await syncFolder(dirname(path))
}

/** What Node's fs raises on a full disk. */
const noSpaceError = (): NodeJS.ErrnoException =>
  Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC", errno: -28, syscall: "write" })

export const writeFileAtomic = (path: string, data: Uint8Array | string): Promise<void> =>
  replaceWith(path, async (temporary) => {
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data
    const fault = writeFault(path)
    const handle = await open(temporary, "w")
    try {
      if (fault === undefined) await handle.writeFile(bytes)
      else {
        await handle.write(bytes, 0, Math.floor(bytes.length / 2))
        await handle.sync()
        if (fault === "enospc") throw noSpaceError()
        process.stderr.write(`carl-test-fault: paused writing ${temporary}\n`)
        await new Promise((resolve) => setTimeout(resolve, 600_000))
        await handle.write(bytes, Math.floor(bytes.length / 2))
      }
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

const PROBLEMS: Readonly<Record<string, string>> = {
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EROFS: "read-only file system",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOENT: "no such file or directory",
  ENOTDIR: "a part of the path is not a folder",
  EISDIR: "is a folder",
  EIO: "input/output error",
  EMFILE: "too many open files",
  ENAMETOOLONG: "file name too long"
}

/** A file-system error as the words a user reads, with its code: "no space left on device (ENOSPC)". */
export const fileSystemProblem = (error: unknown): string => {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  if (code !== undefined && PROBLEMS[code] !== undefined) return `${PROBLEMS[code]} (${code})`
  if (code !== undefined) return code
  return String(error instanceof Error ? error.message : error).split("\n")[0] ?? "unknown error"
}
