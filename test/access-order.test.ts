/**
 * The order of the access policies on one request (design.md §3), pinned end to end:
 * IP tier → CORS preflight → auth → scopes → user tier → proxy. Each step's refusal is checked to happen
 * before the next step counts or calls anything.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import type { RunningGateway } from '../src/server.js'
import { gatewayFor, listeningGatewayFor, type ServicesFileValue } from './helpers/gateway.js'
import { HS_SECRET, hsToken } from './helpers/jwt.js'
import { startUpstream, type TestUpstream } from './helpers/upstream.js'
import { handshake } from './helpers/ws-client.js'
import { startWebSocketUpstream, type WebSocketUpstream } from './helpers/ws-upstream.js'

let upstream: TestUpstream | undefined
let app: FastifyInstance | undefined
let running: RunningGateway | undefined
let wsUpstream: WebSocketUpstream | undefined

afterEach(async () => {
  await app?.close()
  await running?.close()
  await upstream?.close()
  await wsUpstream?.close()
  app = running = upstream = wsUpstream = undefined
})

function fullStack (upstreamUrl: string, perIp: number, perUser: number, service: Record<string, unknown> = {}): ServicesFileValue {
  return {
    gateway: { auth: { secrets: [{ secret: HS_SECRET }] }, rateLimit: { perIp: { max: perIp, window: 60_000 } } },
    services: [{
      name: 'orders',
      prefix: '/orders',
      upstreams: [upstreamUrl],
      auth: { scopes: ['orders:read'], public: [{ path: '/health', methods: ['GET'] }] },
      rateLimit: { max: perUser, window: 60_000 },
      cors: { origins: ['https://app.example'] },
      ...service
    }]
  }
}

async function call (path: string, options: { ip?: string, token?: string, method?: 'GET' | 'OPTIONS', headers?: Record<string, string> } = {}): Promise<{ status: number, headers: Record<string, unknown>, code?: string }> {
  const headers: Record<string, string> = { ...options.headers }
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
  const response = await (app as FastifyInstance).inject({ method: options.method ?? 'GET', url: path, remoteAddress: options.ip ?? '192.0.2.10', headers })
  const code = response.headers['content-type']?.toString().startsWith('application/problem+json') === true ? (response.json() as { code: string }).code : undefined
  return { status: response.statusCode, headers: response.headers, ...(code === undefined ? {} : { code }) }
}

describe('the access policies of one service, in order', () => {
  it('count a bad token in the IP tier, and answer 429 before 401 once that tier is spent', async () => {
    upstream = await startUpstream()
    app = await gatewayFor(fullStack(upstream.url, 3, 100))
    for (let index = 0; index < 3; index++) expect((await call('/orders/1', { token: 'a.b.c' })).code).toBe('GATEHOUSE_TOKEN_INVALID')
    expect((await call('/orders/1', { token: 'a.b.c' })).code).toBe('GATEHOUSE_RATE_LIMITED')
    expect((await call('/orders/1', { token: await hsToken({ scope: 'orders:read' }) })).code).toBe('GATEHOUSE_RATE_LIMITED')
    expect(upstream.requests).toHaveLength(0)
  })

  it('check scopes before the user tier counts, and count the user tier by subject after them', async () => {
    upstream = await startUpstream()
    app = await gatewayFor(fullStack(upstream.url, 100, 2))
    const noScope = await hsToken({ sub: 'grace' })
    const reader = await hsToken({ sub: 'grace', scope: 'orders:read' })
    expect((await call('/orders/1', { token: noScope })).code).toBe('GATEHOUSE_INSUFFICIENT_SCOPE')
    expect((await call('/orders/1', { token: noScope })).code).toBe('GATEHOUSE_INSUFFICIENT_SCOPE')
    // Refusals above were not counted against grace: her two requests pass, from two addresses.
    expect((await call('/orders/1', { token: reader, ip: '198.51.100.1' })).status).toBe(200)
    const second = await call('/orders/2', { token: reader, ip: '198.51.100.2' })
    expect(second.status).toBe(200)
    expect(second.headers['ratelimit-policy']).toBe('"ip";q=100;w=60, "user";q=2;w=60')
    expect((await call('/orders/3', { token: reader, ip: '198.51.100.3' })).code).toBe('GATEHOUSE_RATE_LIMITED')
    // Another subject has its own bucket.
    expect((await call('/orders/4', { token: await hsToken({ sub: 'heidi', scope: 'orders:read' }) })).status).toBe(200)
    expect(upstream.requests.map((request) => request.url)).toEqual(['/1', '/2', '/4'])
  })

  it('answer a CORS preflight before auth, and let public routes skip auth but not the limits', async () => {
    upstream = await startUpstream()
    app = await gatewayFor(fullStack(upstream.url, 2, 100))
    const preflight = await call('/orders/1', { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'GET' } })
    expect(preflight.status).toBe(204)
    expect(preflight.headers['access-control-allow-origin']).toBe('https://app.example')
    expect((await call('/orders/health')).status).toBe(200)
    expect((await call('/orders/health')).code).toBe('GATEHOUSE_RATE_LIMITED')
    expect(upstream.requests.map((request) => request.url)).toEqual(['/health'])
  })

  it('put the CORS headers on a 401, so a browser app can read why it was refused', async () => {
    upstream = await startUpstream()
    app = await gatewayFor(fullStack(upstream.url, 100, 100))
    const refused = await call('/orders/1', { headers: { origin: 'https://app.example' } })
    expect(refused.code).toBe('GATEHOUSE_AUTH_REQUIRED')
    expect(refused.headers['access-control-allow-origin']).toBe('https://app.example')
    expect(refused.headers['ratelimit']).toMatch(/^"ip";r=99;t=\d+$/)
  })

  it('never let the upstream\'s RateLimit fields replace the gateway\'s', async () => {
    upstream = await startUpstream((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain', ratelimit: '"upstream";r=999;t=1', 'ratelimit-policy': '"upstream";q=1000;w=1' }).end('ok')
    })
    app = await gatewayFor(fullStack(upstream.url, 10, 5))
    const answer = await call('/orders/1', { token: await hsToken({ scope: 'orders:read' }) })
    expect(answer.status).toBe(200)
    expect(answer.headers['ratelimit-policy']).toBe('"ip";q=10;w=60, "user";q=5;w=60')
    expect(answer.headers.ratelimit).toMatch(/^"ip";r=9;t=\d+, "user";r=4;t=\d+$/)
  })
})

describe('a gateway answer for an upstream fault', () => {
  it('keeps the gateway\'s RateLimit fields on a 502', async () => {
    upstream = await startUpstream()
    const downUrl = upstream.url
    await upstream.close()
    upstream = undefined
    app = await gatewayFor(fullStack(downUrl, 10, 5))
    const answer = await call('/orders/1', { token: await hsToken({ scope: 'orders:read' }) })
    expect(answer.code).toBe('GATEHOUSE_UPSTREAM_UNREACHABLE')
    expect(answer.headers['ratelimit-policy']).toBe('"ip";q=10;w=60, "user";q=5;w=60')
    expect(answer.headers.ratelimit).toMatch(/^"ip";r=9;t=\d+, "user";r=4;t=\d+$/)
  })
})

describe('WebSocket upgrades', () => {
  const upgrade = async (url: string, token: string): Promise<number> => (await handshake(url, { authorization: `Bearer ${token}` })).status

  it('pass the same auth and user-tier limit as plain requests', async () => {
    wsUpstream = await startWebSocketUpstream()
    running = await listeningGatewayFor(fullStack(wsUpstream.url, 100, 2, { websocket: true, cors: undefined }))
    const url = `${running.url.replace(/^http/, 'ws')}/orders/live`
    const reader = await hsToken({ sub: 'ivan', scope: 'orders:read' })
    expect(await upgrade(url, await hsToken({ sub: 'ivan' }))).toBe(403)
    expect(await upgrade(url, reader)).toBe(101)
    expect(await upgrade(url, reader)).toBe(101)
    expect(await upgrade(url, reader)).toBe(429)
    expect(wsUpstream.handshakes).toHaveLength(2)
  })
})
