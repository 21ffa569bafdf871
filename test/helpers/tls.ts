/**
 * Throwaway TLS material made at test time with the openssl CLI (a CA and a server certificate for
 * 127.0.0.1 / localhost; more server or client certificates on demand), and an https upstream that
 * presents it (and, optionally, requires a client certificate from the same CA).
 */
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http'
import type { ClientHttp2Session, IncomingHttpStatusHeader } from 'node:http2'
import { createServer, request as httpsRequest, type Agent } from 'node:https'
import { connect as tlsConnect, type PeerCertificate, type SecureVersion, type TLSSocket } from 'node:tls'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { closeServer, listenOnLoopback, trackSockets } from './listen.js'
import { echoHandler } from './upstream.js'

const run = promisify(execFile)
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']

export interface IssuedCertificate {
  /** File names relative to the certificates' `dir`. */
  readonly certFile: string
  readonly keyFile: string
  readonly certPath: string
  readonly keyPath: string
  readonly cert: string
  readonly key: string
}

export interface TestCertificates {
  /** Temporary directory holding every file below. */
  readonly dir: string
  /** The CA certificate (PEM), file name relative to `dir`. */
  readonly caFile: string
  readonly caPath: string
  /** PEM text of the CA certificate. */
  readonly ca: string
  /** The server certificate (server.pem / server.key) for 127.0.0.1 and localhost. */
  readonly key: string
  readonly cert: string
  /** Another certificate from the same CA, written to `<name>.pem` / `<name>.key` (a new key each time). */
  issue (name: string, options?: { commonName?: string, usage?: 'serverAuth' | 'clientAuth' }): Promise<IssuedCertificate>
  remove (): Promise<void>
}

export async function makeCertificates (): Promise<TestCertificates> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-tls-'))
  const openssl = async (...args: string[]): Promise<void> => { await run('openssl', args, { cwd: dir }) }
  await openssl('req', '-x509', ...EC_KEY, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=Gatehouse test CA')
  const issue = async (name: string, options: { commonName?: string, usage?: 'serverAuth' | 'clientAuth' } = {}): Promise<IssuedCertificate> => {
    await openssl('req', ...EC_KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${options.commonName ?? 'localhost'}`)
    await writeFile(join(dir, `${name}.ext`),
      `subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=${options.usage ?? 'serverAuth'}\n`)
    // A random serial, so two certificates for the same name still differ.
    await openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', `0x${randomBytes(8).toString('hex')}`,
      '-out', `${name}.pem`, '-days', '1', '-extfile', `${name}.ext`)
    const certPath = join(dir, `${name}.pem`)
    const keyPath = join(dir, `${name}.key`)
    return {
      certFile: `${name}.pem`,
      keyFile: `${name}.key`,
      certPath,
      keyPath,
      cert: await readFile(certPath, 'utf8'),
      key: await readFile(keyPath, 'utf8')
    }
  }
  const server = await issue('server')
  return {
    dir,
    caFile: 'ca.pem',
    caPath: join(dir, 'ca.pem'),
    ca: await readFile(join(dir, 'ca.pem'), 'utf8'),
    key: server.key,
    cert: server.cert,
    issue,
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

/**
 * An https upstream on 127.0.0.1, port 0, answering like the plain echo upstream. With
 * `requireClientCertificate`, only clients presenting a certificate from the test CA get through (mTLS);
 * the subject of the one they presented is echoed in `x-client-subject`.
 */
export async function startHttpsUpstream (certificates: TestCertificates, options: { requireClientCertificate?: boolean, maxVersion?: 'TLSv1.2' } = {}): Promise<HttpsUpstream> {
  const requests: string[] = []
  const mutual = options.requireClientCertificate === true
    ? { ca: certificates.ca, requestCert: true, rejectUnauthorized: true }
    : {}
  const version = options.maxVersion === undefined ? {} : { maxVersion: options.maxVersion }
  const server = createServer({ key: certificates.key, cert: certificates.cert, ...mutual, ...version }, (request, response) => {
    requests.push(request.url ?? '')
    const peer = (request.socket as TLSSocket).getPeerCertificate()
    if (peer.subject !== undefined) response.setHeader('x-client-subject', peer.subject.CN ?? '')
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

export interface HttpsAnswer {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: string
  /** The certificate the server presented on this connection. */
  readonly certificate: PeerCertificate
  /** The negotiated TLS version and ALPN protocol of the connection. */
  readonly protocol: string | null
  readonly alpnProtocol: string | false
  json<T = Record<string, unknown>> (): T
}

export interface HttpsGetOptions {
  readonly ca: string
  /** A keep-alive agent to reuse connections; a fresh connection per request when absent. */
  readonly agent?: Agent
  readonly headers?: OutgoingHttpHeaders
  /** ALPN protocols the client offers (none by default, like most HTTP/1.1 clients). */
  readonly ALPNProtocols?: string[]
}

/** One HTTPS/1.1 request, trusting only the test CA, the whole response read as text. */
export function httpsGet (url: string, options: HttpsGetOptions): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(url, {
      ca: options.ca,
      agent: options.agent ?? false,
      ...(options.headers === undefined ? {} : { headers: options.headers }),
      ...(options.ALPNProtocols === undefined ? {} : { ALPNProtocols: options.ALPNProtocols })
    }, (response) => {
      const socket = response.socket as TLSSocket
      const certificate = socket.getPeerCertificate()
      const protocol = socket.getProtocol()
      const alpnProtocol = socket.alpnProtocol ?? false
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('error', reject)
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text, certificate, protocol, alpnProtocol, json: () => JSON.parse(text) })
      })
    })
    request.on('error', reject)
    request.end()
  })
}

export interface Http2Answer {
  readonly headers: IncomingHttpHeaders & IncomingHttpStatusHeader
  readonly body: string
  json<T = Record<string, unknown>> (): T
}

/** One request on an open HTTP/2 session. */
export function http2Get (session: ClientHttp2Session, path: string, headers: OutgoingHttpHeaders = {}): Promise<Http2Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': 'GET', ':path': path, ...headers })
    let answer: Http2Answer['headers'] = {}
    const chunks: Buffer[] = []
    stream.on('response', (received) => { answer = received })
    stream.on('data', (chunk: Buffer) => chunks.push(chunk))
    stream.on('error', reject)
    stream.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8')
      resolve({ headers: answer, body: text, json: () => JSON.parse(text) })
    })
    stream.end()
  })
}

/** A TLS handshake with the given version range; resolves with the negotiated version or rejects with the alert. */
export async function handshake (port: number, ca: string, versions: { minVersion: SecureVersion, maxVersion: SecureVersion }): Promise<string | null> {
  // SECLEVEL=0 lets this client offer TLS 1.0/1.1 at all, so the refusal we see is the server's.
  const socket = tlsConnect({ host: '127.0.0.1', port, ca, ...versions, ciphers: 'DEFAULT@SECLEVEL=0' })
  try {
    await once(socket, 'secureConnect')
    return socket.getProtocol()
  } finally {
    socket.destroy()
  }
}
