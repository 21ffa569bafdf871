import { once } from 'node:events'
import { writeFile } from 'node:fs/promises'
import { connect, constants, type ClientHttp2Session } from 'node:http2'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { startGateway, type RunningGateway } from '../../src/server.js'
import { configFor, oneService } from '../helpers/gateway.js'
import { http2Get, httpsGet, makeCertificates, type TestCertificates } from '../helpers/tls.js'
import { startUpstream, type TestUpstream } from '../helpers/upstream.js'
import { startWebSocketUpstream } from '../helpers/ws-upstream.js'

describe('the HTTPS listener with "http2": true', () => {
  let certificates: TestCertificates
  let upstream: TestUpstream
  let gateway: RunningGateway
  let session: ClientHttp2Session | undefined

  beforeAll(async () => {
    certificates = await makeCertificates()
  })

  afterAll(async () => {
    await certificates.remove()
  })

  beforeEach(async () => {
    upstream = await startUpstream()
    const config = await configFor(oneService([upstream.url], {}, {
      tls: { cert: 'server.pem', key: 'server.key', http2: true, hsts: true }
    }), certificates.dir)
    gateway = await startGateway(config, { host: '127.0.0.1', port: 0 }, { logger: false })
  })

  afterEach(async () => {
    session?.destroy()
    session = undefined
    await gateway.close()
    await upstream.close()
  })

  async function openSession (): Promise<ClientHttp2Session> {
    session = connect(gateway.url, { ca: certificates.ca })
    await once(session, 'connect')
    return session
  }

  it('negotiates h2 by ALPN and proxies to an HTTP/1.1 upstream', async () => {
    const client = await openSession()
    expect(client.alpnProtocol).toBe('h2')
    const answer = await http2Get(client, '/users/42?x=1')
    expect(answer.headers[':status']).toBe(200)
    expect(answer.json()).toMatchObject({ method: 'GET', url: '/42?x=1' })
    expect(answer.headers['strict-transport-security']).toBe('max-age=15552000')
  })

  it('multiplexes several requests on one connection', async () => {
    const client = await openSession()
    const answers = await Promise.all([1, 2, 3, 4].map((id) => http2Get(client, `/users/${id}`)))
    expect(answers.map((answer) => answer.json<{ url: string }>().url)).toEqual(['/1', '/2', '/3', '/4'])
  })

  it('never forwards pseudo-headers, and takes X-Forwarded-Host from :authority', async () => {
    const client = await openSession()
    await http2Get(client, '/users/1', { ':authority': 'api.example.com', 'x-custom': 'kept' })
    const headers = upstream.requests[0]?.headers ?? {}
    expect(Object.keys(headers).filter((name) => name.startsWith(':'))).toEqual([])
    expect(headers).toMatchObject({
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'api.example.com',
      'x-custom': 'kept',
      host: new URL(upstream.url).host
    })
  })

  it('falls back to HTTP/1.1 on the same port for a client that offers only http/1.1', async () => {
    const answer = await httpsGet(`${gateway.url}/users/7`, { ca: certificates.ca, ALPNProtocols: ['http/1.1'] })
    expect(answer.alpnProtocol).toBe('http/1.1')
    expect(answer.status).toBe(200)
    expect(answer.json()).toMatchObject({ url: '/7' })
    expect(answer.headers['strict-transport-security']).toBe('max-age=15552000')
    expect(upstream.requests[0]?.headers['x-forwarded-proto']).toBe('https')
  })

  it('serves HTTP/1.1 to a client that offers no ALPN at all', async () => {
    const answer = await httpsGet(`${gateway.url}/users/8`, { ca: certificates.ca })
    expect(answer.status).toBe(200)
    expect(answer.json()).toMatchObject({ url: '/8' })
  })

  it('answers problems over HTTP/2 too', async () => {
    const client = await openSession()
    const answer = await http2Get(client, '/nowhere')
    expect(answer.headers[':status']).toBe(404)
    expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(answer.json()).toMatchObject({ code: 'GATEHOUSE_NOT_FOUND' })
  })

  describe('with a 1 KiB head limit', () => {
    beforeEach(async () => {
      await gateway.close()
      const config = await configFor(oneService([upstream.url], {}, {
        limits: { headerBytes: 1024 },
        tls: { cert: 'server.pem', key: 'server.key', http2: true }
      }), certificates.dir)
      gateway = await startGateway(config, { host: '127.0.0.1', port: 0 }, { logger: false })
    })

    it('answers 431 to an oversized HTTP/1.1 head on the fallback', async () => {
      const answer = await httpsGet(`${gateway.url}/users/1`, { ca: certificates.ca, ALPNProtocols: ['http/1.1'], headers: { 'x-big': 'a'.repeat(2048) } })
      expect(answer.status).toBe(431)
      expect(answer.json()).toMatchObject({ code: 'GATEHOUSE_HEADERS_TOO_LARGE' })
      expect(upstream.requests).toEqual([])
    })

    it('advertises the limit as SETTINGS_MAX_HEADER_LIST_SIZE and refuses a larger HTTP/2 header list', async () => {
      const client = await openSession()
      await once(client, 'remoteSettings')
      expect(client.remoteSettings.maxHeaderListSize).toBe(1024)
      await expect(http2Get(client, '/users/1', { 'x-big': 'a'.repeat(2048) })).rejects.toThrow(/ENHANCE_YOUR_CALM|stream/i)
      expect(upstream.requests).toEqual([])
    })
  })

  it('sends GOAWAY to an idle HTTP/2 connection on shutdown instead of waiting for the drain timeout', async () => {
    const client = await openSession()
    await http2Get(client, '/users/1')
    const goaway = once(client, 'goaway')
    const started = Date.now()
    await gateway.close()
    await goaway
    expect(Date.now() - started).toBeLessThan(5_000)
  })
})

describe('WebSocket upgrades on the HTTPS listener', () => {
  it.each([false, true])('reach the upstream over wss:// (http2: %s), marked as https', async (http2) => {
    const certificates = await makeCertificates()
    const upstream = await startWebSocketUpstream()
    const config = await configFor(oneService([upstream.url], { websocket: true }, { tls: { cert: 'server.pem', key: 'server.key', http2 } }), certificates.dir)
    const gateway = await startGateway(config, { host: '127.0.0.1', port: 0 }, { logger: false })
    const client = new WebSocket(`${gateway.url.replace('https:', 'wss:')}/users/live`, { ca: certificates.ca })
    try {
      const handshake = upstream.nextHandshake()
      await once(client, 'open')
      expect((await handshake).headers['x-forwarded-proto']).toBe('https')
      client.send('ping')
      const [message] = await once(client, 'message') as [Buffer]
      expect(String(message)).toBe('ping')
    } finally {
      client.terminate()
      await gateway.close()
      await upstream.close()
      await certificates.remove()
    }
  })
})

describe('an HTTP/2 client that cancels its stream while the service\'s hooks still run', () => {
  // A team plugin whose onRequest takes 300 ms (an introspection call, say): the client leaves before the
  // proxy starts, so only the stream's own state says it is gone (Node's HTTP/2 response has no
  // `destroyed` of its own).
  const SLOW_PLUGIN = `
export default function slow (scope, options, done) {
  scope.addHook('onRequest', async () => { await new Promise((resolve) => setTimeout(resolve, 300)) })
  done()
}
slow[Symbol.for('skip-override')] = true
`
  let certificates: TestCertificates
  let upstream: TestUpstream
  let gateway: RunningGateway
  let session: ClientHttp2Session

  afterEach(async () => {
    session.destroy()
    await gateway.close()
    await upstream.close()
    await certificates.remove()
  })

  it('costs the upstream nothing: the request is never sent, or freed at once', async () => {
    certificates = await makeCertificates()
    await writeFile(join(certificates.dir, 'slow.js'), SLOW_PLUGIN)
    const upstreamClosed: number[] = []
    // An endless body: an upstream request nobody frees stays open until the test ends.
    upstream = await startUpstream((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/octet-stream' })
      const timer = setInterval(() => response.write(Buffer.alloc(1024)), 50)
      response.on('close', () => { clearInterval(timer); upstreamClosed.push(Date.now()) })
    }, { streamBody: true })
    const config = await configFor({
      gateway: { tls: { cert: 'server.pem', key: 'server.key', http2: true } },
      services: [{ name: 'users', prefix: '/users', upstreams: [upstream.url], plugins: ['./slow.js'] }]
    }, certificates.dir)
    gateway = await startGateway(config, { host: '127.0.0.1', port: 0 }, { logger: false })
    session = connect(gateway.url, { ca: certificates.ca })
    await once(session, 'connect')
    const stream = session.request({ ':method': 'GET', ':path': '/users/feed' })
    stream.on('error', () => {})
    stream.resume()
    await new Promise((resolve) => setTimeout(resolve, 100))
    stream.close(constants.NGHTTP2_CANCEL)
    await new Promise((resolve) => setTimeout(resolve, 1000))
    expect(upstream.requests.length).toBe(upstreamClosed.length)
  })
})
