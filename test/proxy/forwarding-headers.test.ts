import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import type { IncomingHttpHeaders } from 'node:http'
import type { RunningGateway } from '../../src/server.js'
import { sendRawHead, sendRequest } from '../helpers/client.js'
import { gatewayFor, listeningGatewayFor, oneService } from '../helpers/gateway.js'
import { startUpstream, type TestUpstream, type UpstreamHandler } from '../helpers/upstream.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

const SPOOFED = {
  'x-forwarded-for': '6.6.6.6',
  'x-forwarded-host': 'evil.example',
  'x-forwarded-proto': 'https',
  'x-forwarded-prefix': '/admin',
  forwarded: 'for=6.6.6.6;proto=https;host=evil.example'
}

function upstreamHeaders (upstream: TestUpstream): IncomingHttpHeaders {
  expect(upstream.requests).toHaveLength(1)
  return upstream.requests[0]?.headers ?? {}
}

describe('X-Forwarded-* headers', () => {
  let upstream: TestUpstream
  let app: FastifyInstance

  beforeEach(async () => {
    upstream = await startUpstream()
    app = await gatewayFor(oneService([upstream.url], {}, { trustedProxies: ['10.0.0.0/8'] }))
  })

  afterEach(async () => {
    await app.close()
    await upstream.close()
  })

  it('tell the upstream the client address, scheme, host and prefix', async () => {
    await app.inject({ url: '/users/1', remoteAddress: '203.0.113.7', headers: { host: 'api.example.com' } })
    expect(upstreamHeaders(upstream)).toMatchObject({
      'x-forwarded-for': '203.0.113.7',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'api.example.com',
      'x-forwarded-prefix': '/users',
      'x-real-ip': '203.0.113.7'
    })
  })

  it('replace the copies a client that is not a trusted proxy sent, and drop its Forwarded header', async () => {
    await app.inject({ url: '/users/1', remoteAddress: '203.0.113.7', headers: { host: 'api.example.com', ...SPOOFED } })
    const headers = upstreamHeaders(upstream)
    expect(headers).toMatchObject({
      'x-forwarded-for': '203.0.113.7',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'api.example.com',
      'x-forwarded-prefix': '/users',
      'x-real-ip': '203.0.113.7'
    })
    expect(headers.forwarded).toBeUndefined()
  })

  it('from a trusted proxy are extended (For, Prefix) or kept (Proto, Host, Forwarded)', async () => {
    await app.inject({
      url: '/users/1',
      remoteAddress: '10.1.2.3',
      headers: {
        host: 'gatehouse.internal',
        'x-forwarded-for': '198.51.100.1',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'api.example.com',
        'x-forwarded-prefix': '/api',
        forwarded: 'for=198.51.100.1;proto=https'
      }
    })
    expect(upstreamHeaders(upstream)).toMatchObject({
      'x-forwarded-for': '198.51.100.1, 10.1.2.3',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'api.example.com',
      'x-forwarded-prefix': '/api/users',
      forwarded: 'for=198.51.100.1;proto=https',
      'x-real-ip': '198.51.100.1'
    })
  })

  it('are set by the gateway when a trusted proxy sent none', async () => {
    await app.inject({ url: '/users/1', remoteAddress: '10.1.2.3', headers: { host: 'gatehouse.internal' } })
    expect(upstreamHeaders(upstream)).toMatchObject({
      'x-forwarded-for': '10.1.2.3',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'gatehouse.internal',
      'x-forwarded-prefix': '/users'
    })
  })
})

describe('X-Forwarded-* behind a trusted proxy on a real connection', () => {
  let upstream: TestUpstream
  let gateway: RunningGateway

  beforeEach(async () => {
    upstream = await startUpstream()
    gateway = await listeningGatewayFor(oneService([upstream.url], {}, { trustedProxies: ['127.0.0.1'] }))
  })

  afterEach(async () => {
    await gateway.close()
    await upstream.close()
  })

  it('appends the peer 127.0.0.1 to the client chain and keeps proto and host', async () => {
    await sendRequest(gateway.url, {
      path: '/users/1',
      headers: { 'x-forwarded-for': '198.51.100.1', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'api.example.com' }
    })
    expect(upstreamHeaders(upstream)).toMatchObject({
      'x-forwarded-for': '198.51.100.1, 127.0.0.1',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'api.example.com',
      'x-real-ip': '198.51.100.1'
    })
  })
})

describe('X-Request-Id', () => {
  let upstream: TestUpstream
  let resetting: TestUpstream
  let app: FastifyInstance

  beforeEach(async () => {
    upstream = await startUpstream()
    resetting = await startUpstream((request) => request.socket.destroy())
    app = await gatewayFor({
      services: [
        { name: 'users', prefix: '/users', upstreams: [upstream.url] },
        { name: 'flaky', prefix: '/flaky', upstreams: [resetting.url] }
      ]
    })
  })

  afterEach(async () => {
    await app.close()
    await upstream.close()
    await resetting.close()
  })

  it('is generated as a UUID when absent, echoed to the client and sent to the upstream', async () => {
    const response = await app.inject({ url: '/users/1' })
    const id = response.headers['x-request-id']
    expect(id).toMatch(UUID)
    expect(upstreamHeaders(upstream)['x-request-id']).toBe(id)
  })

  it.each(['req-42', 'a1b2.c3:d4_e5-F6', 'x'.repeat(128)])('is propagated when the client sends the sane id %s', async (id) => {
    const response = await app.inject({ url: '/users/1', headers: { 'x-request-id': id } })
    expect(response.headers['x-request-id']).toBe(id)
    expect(upstreamHeaders(upstream)['x-request-id']).toBe(id)
  })

  it.each([
    ['longer than 128 characters', 'x'.repeat(129)],
    ['with markup characters', '<script>alert(1)</script>'],
    ['with spaces', 'req 42'],
    ['with a quote and a semicolon', 'a";b'],
    ['empty', '']
  ])('is replaced when the client sends one %s', async (_case, id) => {
    const response = await app.inject({ url: '/users/1', headers: { 'x-request-id': id } })
    const echoed = response.headers['x-request-id']
    expect(echoed).toMatch(UUID)
    expect(upstreamHeaders(upstream)['x-request-id']).toBe(echoed)
  })

  it.each([
    ['a 404 for an unknown path', '/nowhere', 404],
    ['a 400 for an unsafe path', '/users/%2fadmin', 400],
    ['a 502 for an upstream that resets the connection', '/flaky/1', 502]
  ])('is the requestId of the problem body in %s', async (_case, url, status) => {
    const response = await app.inject({ url, headers: { 'x-request-id': 'trace-7' } })
    expect(response.statusCode).toBe(status)
    expect(response.headers['x-request-id']).toBe('trace-7')
    expect(response.json()).toMatchObject({ requestId: 'trace-7' })
  })
})

describe('hop-by-hop headers', () => {
  let upstream: TestUpstream
  let gateway: RunningGateway

  const chattyUpstream: UpstreamHandler = (_request, response) => {
    response.writeHead(200, {
      'content-type': 'text/plain',
      connection: 'x-internal-route',
      'x-internal-route': 'node-7',
      'keep-alive': 'timeout=5, max=1000',
      'proxy-authenticate': 'Basic realm="upstream"',
      'proxy-connection': 'keep-alive',
      upgrade: 'h2c',
      trailer: 'x-checksum',
      server: 'nginx/1.25.3',
      'x-powered-by': 'Express',
      'x-kept': 'yes'
    })
    response.end('ok')
  }

  beforeEach(async () => {
    upstream = await startUpstream(chattyUpstream)
    gateway = await listeningGatewayFor(oneService([upstream.url]))
  })

  afterEach(async () => {
    await gateway.close()
    await upstream.close()
  })

  it('sent by the client, and every header its Connection names, never reach the upstream', async () => {
    // Raw bytes: Node's own client refuses to send a Trailer header without a chunked body.
    const response = await sendRawHead(gateway.url, [
      'GET /users/1 HTTP/1.1', 'Host: gatehouse.test', 'Connection: close, upgrade, x-secret',
      'Keep-Alive: timeout=5', 'TE: trailers', 'Trailer: x-checksum', 'Upgrade: h2c',
      'Proxy-Authorization: Basic Zm9vOmJhcg==', 'Proxy-Connection: keep-alive',
      'X-Secret: only-for-the-next-hop', 'X-Kept: yes', '', ''
    ].join('\r\n'))
    expect(response.statusLine).toMatch(/^HTTP\/1\.1 200 /)
    const headers = upstreamHeaders(upstream)
    for (const name of ['keep-alive', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-connection', 'x-secret']) {
      expect(headers, name).not.toHaveProperty(name)
    }
    expect(headers.connection ?? '').not.toMatch(/upgrade|x-secret/i)
    expect(headers['x-kept']).toBe('yes')
  })

  it('cannot be used by a client to strip the headers the gateway sets', async () => {
    await sendRequest(gateway.url, { path: '/users/1', headers: { connection: 'x-forwarded-for, x-request-id, x-real-ip' } })
    expect(upstreamHeaders(upstream)).toMatchObject({
      'x-forwarded-for': '127.0.0.1',
      'x-real-ip': '127.0.0.1',
      'x-request-id': expect.stringMatching(UUID)
    })
  })

  it('sent by the upstream, the headers its Connection names, Server and X-Powered-By never reach the client', async () => {
    const response = await sendRequest(gateway.url, { path: '/users/1' })
    expect(response.status).toBe(200)
    for (const name of ['x-internal-route', 'proxy-authenticate', 'proxy-connection', 'upgrade', 'trailer', 'server', 'x-powered-by']) {
      expect(response.headers, name).not.toHaveProperty(name)
    }
    // The gateway's own Connection / Keep-Alive for the client connection are fine; the upstream's are not.
    expect(response.headers['keep-alive']).not.toBe('timeout=5, max=1000')
    expect(response.headers.connection ?? '').not.toMatch(/x-internal-route/i)
    expect(response.headers['x-kept']).toBe('yes')
    expect(response.body).toBe('ok')
  })
})
