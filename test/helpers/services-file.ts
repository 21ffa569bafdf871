/** A services.json written to a fresh temporary directory, for tests that go through a real file. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface TempServicesFile {
  readonly dir: string
  readonly path: string
  remove (): Promise<void>
}

export async function writeServicesFile (content: unknown, extraFiles: Record<string, string> = {}): Promise<TempServicesFile> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-test-'))
  const path = join(dir, 'services.json')
  await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2))
  for (const [name, text] of Object.entries(extraFiles)) await writeFile(join(dir, name), text)
  return { dir, path, remove: () => rm(dir, { recursive: true, force: true }) }
}
