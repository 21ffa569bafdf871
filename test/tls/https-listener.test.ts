import { Agent } from 'node:https'
import { connect as tcpConnect } from 'node:net'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startGateway, type RunningGateway } from '../../src/server.js'
import { configFor, oneService } from '../helpers/gateway.js'
import { handshake, httpsGet, makeCertificates, type TestCertificates } from '../helpers/tls.js'
import { startUpstream, type TestUpstream } from '../helpers/upstream.js'

describe('the HTTPS listener', () => {
  let certificates: TestCertificates
  let upstream: TestUpstream
  let gateway: RunningGateway | undefined

  beforeAll(async () => {
    certificates = await makeCertificates()
  })

  afterAll(async () => {
    await certificates.remove()
  })

  beforeEach(async () => {
    upstream = await startUpstream()
  })

  afterEach(async () => {
    await gateway?.close()
    gateway = undefined
    await upstream.close()
  })

  async function startTls (tls: Record<string, unknown> = {}, gatewaySection: Record<string, unknown> = {}): Promise<RunningGateway> {
    const config = await configFor(oneService([upstream.url], {}, { ...gatewaySection, tls: { cert: 'server.pem', key: 'server.key', ...tls } }), certificates.dir)
    gateway = await startGateway(config, { host: '127.0.0.1', port: 0 }, { logger: false })
    return gateway
  }

  it('proxies an HTTPS request to a plain-HTTP upstream and tells it the client used https', async () => {
    const running = await startTls()
    expect(running.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
    const answer = await httpsGet(`${running.url}/users/42?x=1`, { ca: certificates.ca })
    expect(answer.status).toBe(200)
    expect(answer.json()).toMatchObject({ method: 'GET', url: '/42?x=1' })
    expect(upstream.requests[0]?.headers).toMatchObject({ 'x-forwarded-proto': 'https', 'x-forwarded-host': new URL(running.url).host })
  })

  it('presents the configured certificate', async () => {
    const running = await startTls()
    const answer = await httpsGet(`${running.url}/users/1`, { ca: certificates.ca })
    expect(answer.certificate.subject.CN).toBe('localhost')
    expect(answer.certificate.issuer.CN).toBe('Gatehouse test CA')
  })

  it('refuses TLS 1.1 and accepts TLS 1.2 by default', async () => {
    const running = await startTls()
    const port = Number(new URL(running.url).port)
    await expect(handshake(port, certificates.ca, { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1' })).rejects.toThrow(/protocol version|unsupported protocol/i)
    await expect(handshake(port, certificates.ca, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' })).resolves.toBe('TLSv1.2')
    await expect(handshake(port, certificates.ca, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' })).resolves.toBe('TLSv1.3')
  })

  it('refuses TLS 1.2 when "minVersion" is "TLSv1.3"', async () => {
    const running = await startTls({ minVersion: 'TLSv1.3' })
    const port = Number(new URL(running.url).port)
    await expect(handshake(port, certificates.ca, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' })).rejects.toThrow(/protocol version|unsupported protocol/i)
    await expect(handshake(port, certificates.ca, { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' })).resolves.toBe('TLSv1.3')
  })

  it('keeps the head-size limit (431 problem)', async () => {
    const running = await startTls({}, { limits: { headerBytes: 1024 } })
    const answer = await httpsGet(`${running.url}/users/1`, { ca: certificates.ca, headers: { 'x-big': 'a'.repeat(2048) } })
    expect(answer.status).toBe(431)
    expect(answer.json()).toMatchObject({ code: 'GATEHOUSE_HEADERS_TOO_LARGE' })
    expect(upstream.requests).toEqual([])
  })

  it('cuts a client that never finishes its handshake after the head timeout', async () => {
    const running = await startTls({}, { timeouts: { requestHeaders: 300 } })
    const { port } = new URL(running.url)
    // A TCP connection that sends nothing: no ClientHello, so no handshake ever completes.
    const socket = tcpConnect(Number(port), '127.0.0.1')
    const started = Date.now()
    await new Promise((resolve) => socket.once('close', resolve))
    expect(Date.now() - started).toBeLessThan(5_000)
  })

  describe('HSTS', () => {
    it('sends Strict-Transport-Security on HTTPS responses, proxied and the gateway\'s own', async () => {
      const running = await startTls({ hsts: true })
      const proxied = await httpsGet(`${running.url}/users/1`, { ca: certificates.ca })
      const notFound = await httpsGet(`${running.url}/nowhere`, { ca: certificates.ca })
      expect(proxied.headers['strict-transport-security']).toBe('max-age=15552000')
      expect(notFound.status).toBe(404)
      expect(notFound.headers['strict-transport-security']).toBe('max-age=15552000')
    })

    it('writes the configured options', async () => {
      const running = await startTls({ hsts: { maxAge: 31536000, includeSubDomains: true, preload: true } })
      const answer = await httpsGet(`${running.url}/users/1`, { ca: certificates.ca })
      expect(answer.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains; preload')
    })

    it('replaces an upstream\'s own Strict-Transport-Security', async () => {
      await upstream.close()
      upstream = await startUpstream((_request, response) => {
        response.writeHead(200, { 'strict-transport-security': 'max-age=1', 'content-length': 2 })
        response.end('ok')
      })
      const running = await startTls({ hsts: true })
      const answer = await httpsGet(`${running.url}/users/1`, { ca: certificates.ca })
      expect(answer.headers['strict-transport-security']).toBe('max-age=15552000')
    })

    it('is not sent when "hsts" is off', async () => {
      const running = await startTls()
      const answer = await httpsGet(`${running.url}/users/1`, { ca: certificates.ca })
      expect(answer.headers['strict-transport-security']).toBeUndefined()
    })
  })

  describe('shutdown', () => {
    it('lets an in-flight request finish and closes idle keep-alive connections', async () => {
      await upstream.close()
      let arrived = (): void => {}
      const reached = new Promise<void>((resolve) => { arrived = resolve })
      upstream = await startUpstream((request, response) => {
        if (request.url !== '/slow') return response.end('fast')
        arrived()
        setTimeout(() => response.end('late'), 200)
      })
      const running = await startTls()
      const idleAgent = new Agent({ keepAlive: true })
      // A keep-alive connection that is idle when the drain starts.
      expect((await httpsGet(`${running.url}/users/fast`, { ca: certificates.ca, agent: idleAgent })).body).toBe('fast')
      const inFlight = httpsGet(`${running.url}/users/slow`, { ca: certificates.ca })
      await reached
      const started = Date.now()
      await running.close()
      expect((await inFlight).body).toBe('late')
      // Well under the 10 s drain timeout: nothing waited for the idle connection.
      expect(Date.now() - started).toBeLessThan(5_000)
      idleAgent.destroy()
    })
  })
})
