/**
 * `gatehouse start --watch`: a change to services.json is a reload (issue 6), as SIGHUP is.
 *
 * The directory is watched rather than the file: editors and `mv` replace the file, and a Kubernetes
 * ConfigMap volume swaps a `..data` symlink, so a watch on the file itself goes quiet after the first
 * change. Events are debounced (an editor writes a file in several steps), and a change that leaves the
 * file's bytes as they were is not a reload.
 */
import { createHash } from 'node:crypto'
import { watch } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { basename, dirname } from 'node:path'

const DEBOUNCE_MS = 250

export interface ConfigWatch {
  /** The file was read again by someone else (a SIGHUP reload): changes are measured from what it holds now. */
  sawCurrentFile (): void
  close (): void
}

/**
 * Calls `changed` after the file at `source` (absolute path) settles with different bytes than it has
 * now: resolves once they are read, so a change made after that is never mistaken for the starting point.
 */
export async function watchConfigFile (source: string, changed: () => void): Promise<ConfigWatch> {
  const name = basename(source)
  let lastDigest: Promise<string | null> = Promise.resolve(await fileDigest(source))
  let timer: NodeJS.Timeout | undefined
  const watcher = watch(dirname(source), (_event, file) => {
    if (file !== null && file !== name && file !== '..data') return
    clearTimeout(timer)
    timer = setTimeout(() => { changedSinceLastRead().catch(() => {}) }, DEBOUNCE_MS)
  })
  watcher.unref()

  async function changedSinceLastRead (): Promise<void> {
    const [before, now] = await Promise.all([lastDigest, fileDigest(source)])
    if (now === null || now === before) return
    lastDigest = Promise.resolve(now)
    changed()
  }

  return {
    sawCurrentFile () { lastDigest = fileDigest(source) },
    close () {
      clearTimeout(timer)
      watcher.close()
    }
  }
}

/** A digest of the file's bytes, or null while it cannot be read (mid-replacement). */
async function fileDigest (path: string): Promise<string | null> {
  try {
    return createHash('sha256').update(await readFile(path)).digest('hex')
  } catch {
    return null
  }
}
