import { rename, rm, writeFile } from 'node:fs/promises'

/**
 * Writes `file` so a reader never sees it half-written (node_exporter's
 * textfile collector reads at any moment; a browser may load a report while
 * cron rewrites it): a temp file beside it, then a rename over it. The temp
 * file is removed when the write fails. Raw fs errors are thrown; map them
 * with describeFsError where the path is known to the user. `mode`: a
 * secret is 0600 from its first byte, never readable in between.
 */
export async function writeFileAtomic(file: string, content: string, { mode }: { mode?: number } = {}): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`
  try {
    await writeFile(temp, content, { mode })
    await rename(temp, file)
  } catch (error) {
    await rm(temp, { force: true }).catch(() => {})
    // Name the file the user asked for, not our temp name, in any message made of it.
    const fsError = error as NodeJS.ErrnoException
    if (fsError.path === temp) Object.assign(fsError, { path: file, syscall: 'write' })
    throw error
  }
}
