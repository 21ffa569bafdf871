/**
 * Throwaway TLS material made at test time with the openssl CLI (a CA and a server certificate for
 * 127.0.0.1 / localhost), and an https upstream that presents it.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { closeServer, listenOnLoopback, trackSockets } from './listen.js'
import { echoHandler } from './upstream.js'

const run = promisify(execFile)
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']

export interface TestCertificates {
  /** Temporary directory holding every file below. */
  readonly dir: string
  /** The CA certificate (PEM), file name relative to `dir`. */
  readonly caFile: string
  readonly caPath: string
  readonly key: string
  readonly cert: string
  remove (): Promise<void>
}

export async function makeCertificates (): Promise<TestCertificates> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-tls-'))
  const openssl = async (...args: string[]): Promise<void> => { await run('openssl', args, { cwd: dir }) }
  await openssl('req', '-x509', ...EC_KEY, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=Gatehouse test CA')
  await openssl('req', ...EC_KEY, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost')
  await writeFile(join(dir, 'server.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n')
  await openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'server.pem', '-days', '1', '-extfile', 'server.ext')
  return {
    dir,
    caFile: 'ca.pem',
    caPath: join(dir, 'ca.pem'),
    key: await readFile(join(dir, 'server.key'), 'utf8'),
    cert: await readFile(join(dir, 'server.pem'), 'utf8'),
    remove: () => rm(dir, { recursive: true, force: true })
  }
}

export interface HttpsUpstream {
  readonly url: string
  readonly port: number
  /** Requests that completed a TLS handshake and reached the handler. */
  readonly requests: string[]
  close (): Promise<void>
}

/** An https upstream on 127.0.0.1, port 0, answering like the plain echo upstream. */
export async function startHttpsUpstream (certificates: TestCertificates): Promise<HttpsUpstream> {
  const requests: string[] = []
  const server = createServer({ key: certificates.key, cert: certificates.cert }, (request, response) => {
    requests.push(request.url ?? '')
    echoHandler(request, response, Buffer.alloc(0))
  })
  const sockets = trackSockets(server)
  // A client that refuses our certificate aborts the handshake: expected in these tests.
  server.on('tlsClientError', () => {})
  const port = await listenOnLoopback(server)
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    requests,
    close: () => closeServer(server, sockets)
  }
}
