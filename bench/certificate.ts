/** The HTTPS target's certificate: scripts/dev-cert.sh (self-signed, for 127.0.0.1) into a temporary directory. */
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

export interface BenchCertificate {
  /** Directory holding dev.crt and dev.key. */
  readonly dir: string
  /** The certificate itself, which is its own CA. */
  readonly ca: string
  remove (): Promise<void>
}

export async function benchCertificate (root: string): Promise<BenchCertificate> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-tls-'))
  try {
    await promisify(execFile)('sh', [join(root, 'scripts', 'dev-cert.sh'), dir])
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    throw new Error(`cannot make the HTTPS target's certificate (is openssl installed?): ${error instanceof Error ? error.message : String(error)}`)
  }
  return { dir, ca: await readFile(join(dir, 'dev.crt'), 'utf8'), remove: () => rm(dir, { recursive: true, force: true }) }
}
