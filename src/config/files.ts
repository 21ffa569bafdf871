/** Files named in services.json (plugins, CA bundles, public keys), resolved against its directory. */
import { access, readFile } from 'node:fs/promises'
import { resolve as resolvePath } from 'node:path'
import type { ConfigProblem } from './problems.js'

export interface FileContext {
  /** Directory that relative paths are resolved against. */
  readonly baseDir: string
  readonly problems: ConfigProblem[]
}

/** The absolute path of `relative`; a problem at `at` when it does not exist. */
export async function resolveFile (relative: string, at: string, { baseDir, problems }: FileContext): Promise<string> {
  const path = resolvePath(baseDir, relative)
  try {
    await access(path)
  } catch {
    problems.push({ path: at, message: `file "${relative}" does not exist`, hint: `looked for ${path}` })
  }
  return path
}

/** The text of `relative`, or undefined with a problem at `at` when it is missing or unreadable. */
export async function readTextFile (relative: string, at: string, context: FileContext): Promise<string | undefined> {
  const path = await resolveFile(relative, at, context)
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    // A missing file is already reported; anything else (permissions, a directory) is reported here.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      context.problems.push({ path: at, message: `file "${relative}" cannot be read`, hint: `check the permissions of ${path}` })
    }
    return undefined
  }
}
