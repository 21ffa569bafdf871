/** Where the bench's markdown reports go: bench/results/ in the repository (ignored by git and Docker). */
import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root (where package.json is), whether this runs from bench/ or dist/bench/. */
export function packageRoot (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir)
    if (parent === dir) return process.cwd()
    dir = parent
  }
  return dir
}

/** Writes bench/results/<fileName> and returns its path. */
export async function writeReportFile (fileName: string, markdown: string): Promise<string> {
  const directory = join(packageRoot(), 'bench', 'results')
  await mkdir(directory, { recursive: true })
  const file = join(directory, fileName)
  await writeFile(file, markdown)
  return file
}
