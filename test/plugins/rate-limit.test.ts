import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest, LightMyRequestResponse } from 'fastify'
import { kPrincipal } from '../../src/symbols.js'
import { callerKeyFor } from '../../src/rate-limit/client-key.js'
import { normalizedPathBelowPrefix } from '../../src/http/normalized-path.js'
import { policyMember } from '../../src/rate-limit/headers.js'
import { StoreFailures } from '../../src/rate-limit/store-failures.js'
import type { RunningGateway } from '../../src/server.js'
import { gatewayFor, listeningGatewayFor, type ServicesFileValue } from '../helpers/gateway.js'
import { HS_SECRET, hsToken } from '../helpers/jwt.js'
import { expectProblem } from '../helpers/problem.js'
import { startUpstream, type TestUpstream } from '../helpers/upstream.js'

let upstream: TestUpstream
let app: FastifyInstance | undefined
let running: RunningGateway | undefined

beforeEach(async () => { upstream = await startUpstream() })
afterEach(async () => {
  await app?.close()
  await running?.close()
  await upstream.close()
  app = undefined
  running = undefined
})

function fleet (gateway: Record<string, unknown>, service: Record<string, unknown> = {}): ServicesFileValue {
  return { gateway, services: [{ name: 'users', prefix: '/users', upstreams: [upstream.url], ...service }] }
}

async function get (url: string, remoteAddress = '192.0.2.1', headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return (app as FastifyInstance).inject({ method: 'GET', url, remoteAddress, headers })
}

async function statuses (count: number, url: string, remoteAddress?: string, headers?: Record<string, string>): Promise<number[]> {
  const seen: number[] = []
  for (let i = 0; i < count; i++) seen.push((await get(url, remoteAddress, headers)).statusCode)
  return seen
}

describe('the per-IP tier', () => {
  it('answers 429 problem+json with Retry-After past the limit, without reaching the upstream', async () => {
    app = await gatewayFor(fleet({ rateLimit: { perIp: { max: 2, window: 60_000 } } }))
    expect(await statuses(2, '/users/1')).toEqual([200, 200])
    const refused = await get('/users/1')
    expectProblem(refused, 429, 'GATEHOUSE_RATE_LIMITED')
    const retryAfter = Number(refused.headers['retry-after'])
    expect(retryAfter).toBeGreaterThanOrEqual(1)
    expect(retryAfter).toBeLessThanOrEqual(60)
    expect(refused.json()).toMatchObject({ detail: `Too many requests; retry after ${retryAfter} seconds` })
    expect(refused.headers.ratelimit).toBe(`"ip";r=0;t=${retryAfter}`)
    expect(upstream.requests).toHaveLength(2)
  })

  it('sends RateLimit-Policy and RateLimit on allowed responses over a real socket', async () => {
    running = await listeningGatewayFor(fleet({ rateLimit: { perIp: { max: 5, window: 30_000 } } }))
    const first = await fetch(`${running.url}/users/1`)
    expect(first.status).toBe(200)
    expect(first.headers.get('ratelimit-policy')).toBe('"ip";q=5;w=30')
    expect(first.headers.get('ratelimit')).toMatch(/^"ip";r=4;t=(29|30)$/)
    expect(first.headers.get('x-ratelimit-limit')).toBeNull()
    const second = await fetch(`${running.url}/users/1`)
    expect(second.headers.get('ratelimit')).toMatch(/^"ip";r=3;t=\d+$/)
  })

  it('counts requests that end in 404 (root onRequest hooks run for unrouted paths)', async () => {
    app = await gatewayFor(fleet({ rateLimit: { perIp: { max: 2 } } }))
    const notFound = await get('/nope')
    expectProblem(notFound, 404, 'GATEHOUSE_NOT_FOUND')
    expect(notFound.headers.ratelimit).toMatch(/^"ip";r=1;/)
    expect((await get('/also-nope')).statusCode).toBe(404)
    expectProblem(await get('/users/1'), 429, 'GATEHOUSE_RATE_LIMITED')
  })

  it('never limits or counts the admin endpoints, but counts probes below the admin prefix', async () => {
    app = await gatewayFor(fleet({ rateLimit: { perIp: { max: 1 } } }))
    for (const path of ['/_gatehouse/healthz', '/_gatehouse/readyz', '/_gatehouse/rate-limit', '/_gatehouse/healthz']) {
      const response = await get(path)
      expect(response.statusCode).not.toBe(429)
      expect(response.headers.ratelimit).toBeUndefined()
    }
    expect(await statuses(2, '/_gatehouse/nope')).toEqual([404, 429])
  })

  it('exempts the addresses and CIDRs of its allow list, IPv4-mapped IPv6 included', async () => {
    app = await gatewayFor(fleet({ rateLimit: { perIp: { max: 1, allow: ['10.0.0.0/8', '2001:db8:aa::/48'] } } }))
    expect(await statuses(3, '/users/1', '10.1.2.3')).toEqual([200, 200, 200])
    expect(await statuses(2, '/users/1', '::ffff:10.1.2.3')).toEqual([200, 200])
    expect(await statuses(2, '/users/1', '2001:db8:aa::7')).toEqual([200, 200])
    expect((await get('/users/1', '10.1.2.3')).headers.ratelimit).toBeUndefined()
    expect(await statuses(2, '/users/1', '192.0.2.1')).toEqual([200, 429])
  })

  it('counts an IPv6 client by its /64 and an IPv4-mapped address as its IPv4 address', async () => {
    app = await gatewayFor(fleet({ rateLimit: { perIp: { max: 2 } } }))
    expect((await get('/users/1', '2001:db8:1:2::1')).statusCode).toBe(200)
    expect((await get('/users/1', '2001:db8:1:2:ffff:ffff:ffff:fffe')).statusCode).toBe(200)
    expect((await get('/users/1', '2001:db8:1:2::abcd')).statusCode).toBe(429)
    expect((await get('/users/1', '2001:db8:1:3::1')).statusCode).toBe(200)
    expect((await get('/users/1', '198.51.100.9')).statusCode).toBe(200)
    expect((await get('/users/1', '::ffff:198.51.100.9')).statusCode).toBe(200)
    expect((await get('/users/1', '198.51.100.9')).statusCode).toBe(429)
  })

  it('ignores X-Forwarded-For when no trusted proxy is configured, so a client cannot pick its bucket', async () => {
    app = await gatewayFor(fleet({ rateLimit: { perIp: { max: 2 } } }))
    const seen: number[] = []
    for (const forwardedFor of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) {
      seen.push((await get('/users/1', '192.0.2.1', { 'x-forwarded-for': forwardedFor })).statusCode)
    }
    expect(seen).toEqual([200, 200, 429])
  })

  it('counts the client named by a trusted proxy\'s X-Forwarded-For over a real socket', async () => {
    running = await listeningGatewayFor(fleet({ trustedProxies: ['127.0.0.1'], rateLimit: { perIp: { max: 1 } } }))
    const from = async (client: string): Promise<number> =>
      (await fetch(`${running?.url ?? ''}/users/1`, { headers: { 'x-forwarded-for': client } })).status
    expect(await from('198.51.100.1')).toBe(200)
    expect(await from('198.51.100.2')).toBe(200)
    expect(await from('198.51.100.1')).toBe(429)
  })
})

describe('the service tier', () => {
  it('adds its members after the IP tier\'s, and counts anonymous callers of a "subject" key by IP', async () => {
    app = await gatewayFor(fleet({ rateLimit: { perIp: { max: 100 } } }, { rateLimit: { max: 2, window: 10_000 } }))
    const first = await get('/users/1', '192.0.2.1')
    expect(first.headers['ratelimit-policy']).toBe('"ip";q=100;w=60, "user";q=2;w=10')
    expect(first.headers.ratelimit).toMatch(/^"ip";r=99;t=\d+, "user";r=1;t=\d+$/)
    expect(await statuses(2, '/users/1', '192.0.2.1')).toEqual([200, 429])
    expect((await get('/users/1', '192.0.2.2')).statusCode).toBe(200)
  })

  it('counts per header value with a header key, and per client IP when the header is absent', async () => {
    app = await gatewayFor(fleet({}, { rateLimit: { max: 1, key: { header: 'X-Api-Key' } } }))
    expect(await statuses(2, '/users/1', '192.0.2.1', { 'x-api-key': 'alpha' })).toEqual([200, 429])
    expect((await get('/users/1', '192.0.2.1', { 'x-api-key': 'beta' })).statusCode).toBe(200)
    expect(await statuses(2, '/users/1', '192.0.2.1')).toEqual([200, 429])
  })

  it('never counts the keys of its allow list', async () => {
    app = await gatewayFor(fleet({}, { rateLimit: { max: 1, key: { header: 'x-api-key' }, allow: ['partner-key', '192.0.2.50'] } }))
    const exempt = await get('/users/1', '192.0.2.1', { 'x-api-key': 'partner-key' })
    expect(exempt.headers.ratelimit).toBeUndefined()
    expect(await statuses(3, '/users/1', '192.0.2.1', { 'x-api-key': 'partner-key' })).toEqual([200, 200, 200])
    expect(await statuses(2, '/users/1', '192.0.2.50')).toEqual([200, 200])
    expect(await statuses(2, '/users/1', '192.0.2.1', { 'x-api-key': 'other' })).toEqual([200, 429])
  })

  it('exempts listed client addresses and CIDRs whatever the key, and only those', async () => {
    app = await gatewayFor(fleet({}, { rateLimit: { max: 1, key: 'ip', allow: ['10.0.0.0/8', '2001:db8::1'] } }))
    expect(await statuses(3, '/users/1', '10.1.2.3')).toEqual([200, 200, 200])
    expect(await statuses(3, '/users/1', '2001:db8::1')).toEqual([200, 200, 200])
    // Only the listed address, not the /64 it falls in.
    expect(await statuses(2, '/users/1', '2001:db8::2')).toEqual([200, 429])
    expect(await statuses(2, '/users/1', '192.0.2.1')).toEqual([200, 429])
  })

  it('counts each matching route tier separately from the service tier, however the path is spelled', async () => {
    app = await gatewayFor(fleet({}, {
      rateLimit: { max: 50, routes: [{ path: '/search', methods: ['GET'], max: 2 }, { path: '/admin/*', max: 1 }] }
    }))
    const first = await get('/users/search?q=1')
    expect(first.headers['ratelimit-policy']).toBe('"user";q=50;w=60, "route:/search:GET";q=2;w=60')
    expect(first.headers.ratelimit).toMatch(/^"user";r=49;t=\d+, "route:\/search:GET";r=1;t=\d+$/)
    expect((await get('/users/%73earch/')).statusCode).toBe(200)
    expectProblem(await get('/users//search'), 429, 'GATEHOUSE_RATE_LIMITED')
    expect((await app.inject({ method: 'POST', url: '/users/search', remoteAddress: '192.0.2.1' })).statusCode).toBe(200)
    expect(await statuses(2, '/users/admin/x')).toEqual([200, 429])
    expect((await get('/users/admin')).statusCode).toBe(429)
    const other = await get('/users/other')
    expect(other.statusCode).toBe(200)
    expect(other.headers.ratelimit).toMatch(/^"user";r=\d+;t=\d+$/)
  })

  it('sends the legacy X-RateLimit-* trio of the tier closest to its limit when asked to', async () => {
    app = await gatewayFor(fleet({ rateLimit: { legacyHeaders: true, perIp: { max: 10 } } }, { rateLimit: { max: 3, window: 5_000 } }))
    const response = await get('/users/1')
    expect(response.headers).toMatchObject({ 'x-ratelimit-limit': '3', 'x-ratelimit-remaining': '2', 'x-ratelimit-reset': '5' })
  })
})

describe('the tiers around auth', () => {
  const withAuth = (gateway: Record<string, unknown>, service: Record<string, unknown>): ServicesFileValue =>
    fleet({ auth: { secrets: [{ secret: HS_SECRET }] }, ...gateway }, { auth: true, ...service })

  it('counts refused tokens in the IP tier, which answers 429 before auth looks at the token', async () => {
    app = await gatewayFor(withAuth({ rateLimit: { perIp: { max: 2 } } }, {}))
    const refused = await get('/users/1', '192.0.2.1', { authorization: 'Bearer not-a-token' })
    expectProblem(refused, 401, 'GATEHOUSE_TOKEN_INVALID')
    expect(refused.headers.ratelimit).toMatch(/^"ip";r=1;/)
    expect((await get('/users/1')).statusCode).toBe(401)
    const token = await hsToken({ sub: 'alice' })
    expectProblem(await get('/users/1', '192.0.2.1', { authorization: `Bearer ${token}` }), 429, 'GATEHOUSE_RATE_LIMITED')
  })

  it('counts a verified caller by its subject, whatever address it calls from, and never counts refused tokens there', async () => {
    app = await gatewayFor(withAuth({}, { rateLimit: { max: 2 } }))
    const [alice, bob] = [await hsToken({ sub: 'alice' }), await hsToken({ sub: 'bob' })]
    expect((await get('/users/1', '192.0.2.1', { authorization: 'Bearer forged' })).statusCode).toBe(401)
    const first = await get('/users/1', '192.0.2.1', { authorization: `Bearer ${alice}` })
    expect(first.headers.ratelimit).toMatch(/^"user";r=1;/)
    expect((await get('/users/1', '192.0.2.2', { authorization: `Bearer ${alice}` })).statusCode).toBe(200)
    expect((await get('/users/1', '192.0.2.3', { authorization: `Bearer ${alice}` })).statusCode).toBe(429)
    expect((await get('/users/1', '192.0.2.1', { authorization: `Bearer ${bob}` })).statusCode).toBe(200)
  })
})

describe('the memory store', () => {
  it('keeps at most maxKeys counters per tier, dropping the least recently used', async () => {
    app = await gatewayFor(fleet({ rateLimit: { maxKeys: 100, perIp: { max: 1 } } }))
    expect((await get('/users/1', '198.51.100.0')).statusCode).toBe(200)
    expect((await get('/users/1', '198.51.100.0')).statusCode).toBe(429)
    for (let i = 1; i <= 100; i++) await get('/users/1', `203.0.113.${i}`)
    expect((await get('/users/1', '198.51.100.0')).statusCode).toBe(200)
  })

  it('is reported by the admin endpoint', async () => {
    app = await gatewayFor(fleet({ rateLimit: { perIp: { max: 1 } } }))
    const status = await get('/_gatehouse/rate-limit')
    expect(status.statusCode).toBe(200)
    expect(status.json()).toEqual({ store: 'memory', storeStatus: 'ready', failOpen: 0, failClosed: 0 })
  })
})

describe('rate-limit building blocks', () => {
  const request = (ip: string, headers: Record<string, string> = {}, subject?: string | null) =>
    ({ ip, headers, [kPrincipal]: subject === undefined ? null : { subject } }) as unknown as FastifyRequest

  it.each([
    ['ip', request('2001:db8:1:2::9'), 'ip:2001:db8:1:2::'],
    ['ip', request('::ffff:192.0.2.1'), 'ip:192.0.2.1'],
    ['subject', request('192.0.2.1', {}, 'alice'), 'sub:alice'],
    ['subject', request('192.0.2.1', {}, null), 'ip:192.0.2.1'],
    ['subject', request('192.0.2.1'), 'ip:192.0.2.1'],
    [{ header: 'X-Api-Key' }, request('192.0.2.1', { 'x-api-key': 'k1' }), 'hdr:k1'],
    [{ header: 'X-Api-Key' }, request('192.0.2.1', { 'x-api-key': '' }), 'ip:192.0.2.1'],
    [{ header: 'X-Api-Key' }, request('192.0.2.1', { 'x-api-key': 'x'.repeat(65) }), 'hdr:lTfF_fEgSC99WNJentWD9SwCtOME6oFNsWM61WWu1-k']
  ] as const)('keys %j callers as expected (%#)', (key, caller, expected) => {
    expect(callerKeyFor(key)(caller)).toBe(expected)
  })

  it.each([
    ['/users/search?q=1', '/users', '/search'],
    ['/users/%73earch/', '/users', '/search'],
    ['/users//a//b', '/users', '/a/b'],
    ['/users', '/users', '/'],
    ['/users/?x', '/users', '/'],
    ['/a/b', '/', '/a/b'],
    ['/users/%E0%A4%A', '/users', '/%E0%A4%A']
  ])('matches %s below %s as %s', (url, prefix, expected) => {
    expect(normalizedPathBelowPrefix(url, prefix === '/' ? 0 : prefix.length)).toBe(expected)
  })

  it('writes policy names as escaped sf-strings and windows as whole seconds, rounded up', () => {
    expect(policyMember('a"b\\c', 10, 1_500)).toBe('"a\\"b\\\\c";q=10;w=2')
  })

  it('lets a store failure through under "open" and refuses it under "closed", counting both and warning at most every 5 s', () => {
    vi.useFakeTimers({ now: 0 })
    try {
      const warnings: unknown[] = []
      const log = { warn: (entry: unknown) => warnings.push(entry) } as unknown as FastifyBaseLogger
      const open = new StoreFailures('open', log)
      for (let i = 0; i < 3; i++) expect(open.record(new Error('Stream isn\'t writeable'))).toBeNull()
      vi.setSystemTime(5_000)
      open.record(new Error('Command timed out'))
      expect(open).toMatchObject({ failOpen: 4, failClosed: 0 })
      expect(warnings).toMatchObject([{ failures: 1, failurePolicy: 'open' }, { failures: 3, err: { message: 'Command timed out' } }])
      const closed = new StoreFailures('closed', log)
      expect(closed.record(new Error('down'))).toMatchObject({ code: 'GATEHOUSE_RATE_LIMIT_UNAVAILABLE', statusCode: 503 })
      expect(closed.failClosed).toBe(1)
    } finally {
      vi.useRealTimers()
    }
  })
})
