import { connect, createServer } from 'node:net'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startGateway, type RunningGateway } from '../../src/server.js'
import { httpsLocation } from '../../src/tls/redirect.js'
import { sendRequest } from '../helpers/client.js'
import { configFor, oneService } from '../helpers/gateway.js'
import { listenOnLoopback } from '../helpers/listen.js'
import { makeCertificates, type TestCertificates } from '../helpers/tls.js'
import { startUpstream, type TestUpstream } from '../helpers/upstream.js'

describe('the redirect Location', () => {
  it.each([
    ['api.example.com', '/users/1?x=1', 8443, 'https://api.example.com:8443/users/1?x=1'],
    ['api.example.com:8080', '/', 443, 'https://api.example.com/'],
    ['API.Example.COM:80', '/a', 443, 'https://api.example.com/a'],
    ['127.0.0.1:8080', '/a%2Fb', 8443, 'https://127.0.0.1:8443/a%2Fb'],
    ['[::1]:8080', '/a', 443, 'https://[::1]/a'],
    ['localhost.', '/a', 443, 'https://localhost./a']
  ])('Host %s, target %s, HTTPS port %d → %s', (host, target, port, expected) => {
    expect(httpsLocation(host, target, port)).toBe(expected)
  })

  it.each([
    ['no Host', undefined, '/'],
    ['an empty Host', '', '/'],
    ['a Host with a path', 'evil.example/x', '/'],
    ['a Host with userinfo', 'user@evil.example', '/'],
    ['a Host with a space', 'evil example', '/'],
    ['a Host with an underscore', 'a_b.example', '/'],
    ['an IPv6 Host that is not an address', '[fe80::zz]', '/'],
    ['a label with a leading hyphen', '-a.example', '/'],
    ['an absolute-form target', 'api.example.com', 'http://evil.example/'],
    ['a target that reads as another host', 'api.example.com', '//evil.example/'],
    ['an asterisk target', 'api.example.com', '*']
  ])('is refused for %s', (_name, host, target) => {
    expect(httpsLocation(host, target, 8443)).toBeUndefined()
  })
})

describe('the HTTP → HTTPS redirect listener', () => {
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
    const config = await configFor(oneService([upstream.url], {}, {
      tls: { cert: 'server.pem', key: 'server.key', hsts: true, redirectHttp: { port: 0 } }
    }), certificates.dir)
    gateway = await startGateway(config, { host: '127.0.0.1', port: 0 }, { logger: false })
  })

  afterEach(async () => {
    await gateway?.close()
    gateway = undefined
    await upstream.close()
  })

  function redirectUrl (): string {
    if (gateway?.redirectUrl == null) throw new Error('no redirect listener')
    return gateway.redirectUrl
  }

  it('answers 308 with the https:// URL on the HTTPS port, path and query kept', async () => {
    const httpsPort = new URL(gateway?.url ?? '').port
    const answer = await sendRequest(redirectUrl(), { method: 'POST', path: '/users/42?x=1&y=%20', headers: { host: 'api.example.com:8080' }, body: 'kept by a 308' })
    expect(answer.status).toBe(308)
    expect(answer.headers.location).toBe(`https://api.example.com:${httpsPort}/users/42?x=1&y=%20`)
    // Nothing is proxied over plain HTTP, and HSTS is never sent on it (RFC 6797 §7.2).
    expect(upstream.requests).toEqual([])
    expect(answer.headers['strict-transport-security']).toBeUndefined()
  })

  it('refuses a Host that is not a host name or an IP literal with a 400 problem', async () => {
    const answer = await sendRequest(redirectUrl(), { path: '/users/1', headers: { host: 'evil.example/phish' } })
    expect(answer.status).toBe(400)
    expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(answer.json()).toMatchObject({ status: 400, code: 'GATEHOUSE_BAD_REQUEST' })
    expect(answer.headers.location).toBeUndefined()
  })

  it('refuses an HTTP/1.0 request without a Host', async () => {
    const { hostname, port } = new URL(redirectUrl())
    const socket = connect(Number(port), hostname)
    socket.end('GET /users/1 HTTP/1.0\r\n\r\n')
    let text = ''
    for await (const chunk of socket) text += String(chunk)
    expect(text).toMatch(/^HTTP\/1\.1 400 /)
    expect(text).toContain('GATEHOUSE_BAD_REQUEST')
  })

  it('answers the admin health endpoints itself, so plain-HTTP probes keep working', async () => {
    const healthz = await sendRequest(redirectUrl(), { path: '/_gatehouse/healthz', headers: { host: 'gateway:8080' } })
    const readyz = await sendRequest(redirectUrl(), { path: '/_gatehouse/readyz?verbose=1', headers: { host: 'gateway:8080' } })
    expect(healthz.status).toBe(200)
    expect(healthz.json()).toEqual({ status: 'ok' })
    expect(readyz.status).toBe(200)
    expect(readyz.json()).toMatchObject({ status: 'ready' })
    expect(healthz.headers['strict-transport-security']).toBeUndefined()
  })

  it('redirects the other admin endpoints', async () => {
    const answer = await sendRequest(redirectUrl(), { path: '/_gatehouse/rate-limit', headers: { host: 'gateway' } })
    expect(answer.status).toBe(308)
  })

  it('is closed together with the HTTPS listener', async () => {
    const url = redirectUrl()
    await gateway?.close()
    await expect(sendRequest(url, { path: '/', headers: { host: 'a.example' } })).rejects.toThrow(/ECONNREFUSED/)
  })
})

describe('a redirect port that is taken', () => {
  it('fails the start and closes the HTTPS listener again', async () => {
    const certificates = await makeCertificates()
    const upstream = await startUpstream()
    const blocker = createServer()
    try {
      const taken = await listenOnLoopback(blocker)
      const config = await configFor(oneService([upstream.url], {}, {
        tls: { cert: 'server.pem', key: 'server.key', redirectHttp: { port: taken } }
      }), certificates.dir)
      const sighupListeners = process.listenerCount('SIGHUP')
      await expect(startGateway(config, { host: '127.0.0.1', port: 0 }, { logger: false })).rejects.toThrow(/EADDRINUSE/)
      expect(process.listenerCount('SIGHUP')).toBe(sighupListeners)
    } finally {
      blocker.close()
      await upstream.close()
      await certificates.remove()
    }
  })
})
