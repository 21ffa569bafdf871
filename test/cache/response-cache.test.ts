/**
 * The RFC 9111 shared cache against a real upstream that counts what reaches it (issue 4): what is stored,
 * what is served, revalidation, stale answers, collapsing and invalidation.
 */
import { fileURLToPath } from 'node:url'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import type { FastifyInstance } from 'fastify'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { kResponseStore } from '../../plugins/cache.js'
import { gatewayFor, oneService } from '../helpers/gateway.js'
import { HS_SECRET, hsToken } from '../helpers/jwt.js'
import { expectProblem } from '../helpers/problem.js'
import { startScriptedUpstream, type ScriptedUpstream } from './scripted-upstream.js'

let upstream: ScriptedUpstream
let gateway: FastifyInstance

async function cachingGateway (serviceExtra: Record<string, unknown> = {}, gatewayExtra: Record<string, unknown> = {}): Promise<FastifyInstance> {
  gateway = await gatewayFor(oneService([upstream.url], { cache: true, compression: false, ...serviceExtra }, gatewayExtra))
  return gateway
}

async function get (url: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') {
  return gateway.inject({ method, url, headers })
}

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/**
 * `path` answers 'stored body' with ETag "v1", fresh for a second (plus `first`); after that, a 304 with
 * `notModified` to our validator, and a full answer to anything else (which the test must not see).
 */
function scriptRevalidation (path: string, first: Record<string, string>, notModified: Record<string, string>): void {
  upstream.script(path, ({ headers, hits }) => hits === 1
    ? { headers: { 'cache-control': 'max-age=1', etag: '"v1"', ...first }, body: 'stored body' }
    : headers['if-none-match'] === '"v1"'
      ? { status: 304, headers: { 'cache-control': 'max-age=60', etag: '"v1"', ...notModified } }
      : { headers: { 'cache-control': 'max-age=60', etag: '"v2"' }, body: 'unexpected full fetch' })
}

beforeEach(async () => {
  upstream = await startScriptedUpstream()
})

afterEach(async () => {
  await gateway?.close()
  await upstream.close()
})

describe('what is stored', () => {
  it('serves a response with s-maxage from the cache, with Age and Cache-Status, without calling the upstream again', async () => {
    upstream.script('/a', { headers: { 'cache-control': 's-maxage=60', 'content-type': 'text/plain' }, body: 'alpha' })
    await cachingGateway()
    const first = await get('/users/a')
    expect(first.statusCode).toBe(200)
    expect(first.headers['cache-status']).toMatch(/^gatehouse; fwd=miss; stored/)
    const second = await get('/users/a')
    expect(second.statusCode).toBe(200)
    expect(second.body).toBe('alpha')
    expect(second.headers['content-type']).toBe('text/plain')
    expect(second.headers['content-length']).toBe('5')
    expect(second.headers.age).toMatch(/^\d+$/)
    expect(second.headers['cache-status']).toMatch(/^gatehouse; hit; ttl=(59|60)$/)
    expect(upstream.hits('/a')).toBe(1)
  })

  it('keys by the full URL, query included', async () => {
    upstream.script('/q?x=1', { headers: { 'cache-control': 'max-age=60' }, body: 'one' })
    upstream.script('/q?x=2', { headers: { 'cache-control': 'max-age=60' }, body: 'two' })
    await cachingGateway()
    expect((await get('/users/q?x=1')).body).toBe('one')
    expect((await get('/users/q?x=2')).body).toBe('two')
    expect((await get('/users/q?x=1')).body).toBe('one')
    expect(upstream.hits('/q?x=1') + upstream.hits('/q?x=2')).toBe(2)
  })

  it.each([
    ['no-store', 'no-store, max-age=60'],
    ['private', 'private, max-age=60'],
    ['max-age=0', 'max-age=0'],
    ['no freshness and no validator', undefined]
  ])('does not store %s', async (_name, cacheControl) => {
    upstream.script('/n', { headers: cacheControl === undefined ? {} : { 'cache-control': cacheControl }, body: 'x' })
    await cachingGateway()
    await get('/users/n')
    const second = await get('/users/n')
    // Not storable, so the next ones pass straight through for a while (hit-for-pass).
    expect(second.headers['cache-status']).toBe('gatehouse; fwd=miss; detail=pass')
    expect(upstream.hits('/n')).toBe(2)
  })

  it('honours Expires, and ignores it when max-age is present', async () => {
    upstream.script('/e', { headers: { expires: new Date(Date.now() + 60_000).toUTCString(), date: new Date().toUTCString() }, body: 'e' })
    upstream.script('/e0', { headers: { expires: new Date(Date.now() + 60_000).toUTCString(), 'cache-control': 'max-age=0' }, body: 'e0' })
    await cachingGateway()
    await get('/users/e'); await get('/users/e')
    await get('/users/e0'); await get('/users/e0')
    expect(upstream.hits('/e')).toBe(1)
    expect(upstream.hits('/e0')).toBe(2)
  })

  it('gives a 200 with Last-Modified heuristic freshness, but not a status that is not heuristically cacheable', async () => {
    const lastModified = new Date(Date.now() - 10 * 86_400_000).toUTCString()
    upstream.script('/h', { headers: { 'last-modified': lastModified, date: new Date().toUTCString() }, body: 'h' })
    upstream.script('/h302', { status: 302, headers: { 'last-modified': lastModified, location: '/elsewhere' }, body: '' })
    await cachingGateway()
    await get('/users/h'); await get('/users/h')
    expect(upstream.hits('/h')).toBe(1)
    await get('/users/h302'); await get('/users/h302')
    expect(upstream.hits('/h302')).toBe(2)
  })

  it('stores an explicitly cacheable 404 and 301', async () => {
    upstream.script('/gone', { status: 404, headers: { 'cache-control': 'max-age=60' }, body: 'nope' })
    // The upstream's own path; the gateway rewrites it below the service prefix.
    upstream.script('/moved', { status: 301, headers: { 'cache-control': 'max-age=60', location: '/new' }, body: '' })
    await cachingGateway()
    await get('/users/gone')
    const gone = await get('/users/gone')
    expect(gone.statusCode).toBe(404)
    expect(gone.body).toBe('nope')
    await get('/users/moved')
    const moved = await get('/users/moved')
    expect(moved.statusCode).toBe(301)
    expect(moved.headers.location).toBe('/users/new')
    expect(upstream.hits('/gone') + upstream.hits('/moved')).toBe(2)
  })

  it('never stores a response with Set-Cookie', async () => {
    upstream.script('/c', { headers: { 'cache-control': 'public, max-age=60', 'set-cookie': 'session=abc' }, body: 'c' })
    await cachingGateway()
    await get('/users/c')
    const second = await get('/users/c')
    expect(second.headers['set-cookie']).toBe('session=abc')
    expect(upstream.hits('/c')).toBe(2)
  })

  it('streams a body larger than maxObjectBytes through without storing it', async () => {
    const big = Buffer.alloc(4096, 'b')
    upstream.script('/big', { headers: { 'cache-control': 'max-age=60' }, body: big })
    await cachingGateway({}, { cache: { maxObjectBytes: 1024 } })
    const first = await get('/users/big')
    expect(first.rawPayload.equals(big)).toBe(true)
    await get('/users/big')
    expect(upstream.hits('/big')).toBe(2)
  })

  it('evicts the least recently used entries when the memory store is full', async () => {
    const body = Buffer.alloc(3000, 'x')
    for (const name of ['/1', '/2', '/3']) upstream.script(name, { headers: { 'cache-control': 'max-age=60' }, body })
    // Room for two entries (each counts its body plus headers and bookkeeping).
    await cachingGateway({}, { cache: { maxBytes: 8000 } })
    await get('/users/1'); await get('/users/2')
    await get('/users/1') // 1 is now more recent than 2
    await get('/users/3') // evicts 2
    await get('/users/1'); await get('/users/2')
    expect(upstream.hits('/1')).toBe(1)
    expect(upstream.hits('/2')).toBe(2)
    expect(upstream.hits('/3')).toBe(1)
  })

  it('does not store a body that ends early (answered 502: nothing of it was sent)', async () => {
    upstream.script('/cut', { headers: { 'cache-control': 'max-age=60', 'content-type': 'text/plain', 'content-length': '100' }, body: 'only twenty bytes!!!', cut: true })
    await cachingGateway()
    expectProblem(await get('/users/cut'), 502, 'GATEHOUSE_UPSTREAM_RESET')
    expectProblem(await get('/users/cut'), 502, 'GATEHOUSE_UPSTREAM_RESET')
    expect(upstream.hits('/cut')).toBe(2)
  })
})

describe('Authorization (RFC 9111 §3.5)', () => {
  it('neither stores nor serves a max-age answer for requests that carry Authorization', async () => {
    upstream.script('/p', { headers: { 'cache-control': 'max-age=60' }, body: 'p' })
    await cachingGateway()
    await get('/users/p', { authorization: 'Basic dTpw' })
    await get('/users/p', { authorization: 'Basic dTpw' })
    expect(upstream.hits('/p')).toBe(2)
    // Stored for an anonymous request, it is still not handed to an authenticated one.
    await get('/users/p'); await get('/users/p')
    expect(upstream.hits('/p')).toBe(3)
    await get('/users/p', { authorization: 'Basic dTpw' })
    expect(upstream.hits('/p')).toBe(4)
  })

  it.each(['public, max-age=60', 's-maxage=60'])('stores and serves "%s" for requests with Authorization', async (cacheControl) => {
    upstream.script('/p', { headers: { 'cache-control': cacheControl }, body: 'p' })
    await cachingGateway()
    await get('/users/p', { authorization: 'Basic dTpw' })
    const second = await get('/users/p', { authorization: 'Basic b3RoZXI6eA==' })
    expect(second.body).toBe('p')
    expect(upstream.hits('/p')).toBe(1)
  })
})

describe('Vary', () => {
  it('keeps one variant per value of the fields the response varies on, normalized', async () => {
    upstream.script('/v', ({ headers }) => ({ headers: { 'cache-control': 'max-age=60', vary: 'Accept-Language' }, body: `lang=${String(headers['accept-language'])}` }))
    await cachingGateway()
    expect((await get('/users/v', { 'accept-language': 'en' })).body).toBe('lang=en')
    expect((await get('/users/v', { 'accept-language': 'fr' })).body).toBe('lang=fr')
    expect((await get('/users/v', { 'accept-language': 'en' })).body).toBe('lang=en')
    expect((await get('/users/v', { 'accept-language': 'FR' })).body).toBe('lang=fr')
    expect(upstream.hits('/v')).toBe(2)
  })

  it('does not store answers that vary on credentials, and never writes a caller\'s token or cookies to the store', async () => {
    upstream.script('/cred', { headers: { 'cache-control': 'public, max-age=60', vary: 'Cookie' }, body: 'c' })
    upstream.script('/lang', { headers: { 'cache-control': 'public, max-age=60', vary: 'Accept-Language' }, body: 'l' })
    await cachingGateway()
    await get('/users/cred', { cookie: 'session=secret-cookie' }); await get('/users/cred', { cookie: 'session=secret-cookie' })
    expect(upstream.hits('/cred')).toBe(2)
    await get('/users/lang', { authorization: 'Bearer secret-token', cookie: 'session=secret-cookie', 'accept-language': 'en' })
    const hit = await get('/users/lang', { authorization: 'Bearer other', 'accept-language': 'en' })
    expect(hit.headers['cache-status']).toMatch(/^gatehouse; hit/)
    const memory = gateway[kResponseStore]?.memory
    const stored = memory?.read('gatehouse-response:/users/lang http://localhost:80')?.item.variants[0]?.policy.toObject()
    expect(stored?.reqh).toEqual(expect.objectContaining({ 'accept-language': 'en', authorization: 'present' }))
    expect(JSON.stringify(stored)).not.toMatch(/secret-(token|cookie)/)
  })

  it('never matches Vary: *', async () => {
    upstream.script('/star', { headers: { 'cache-control': 'max-age=60', vary: '*' }, body: 's' })
    await cachingGateway()
    await get('/users/star'); await get('/users/star')
    expect(upstream.hits('/star')).toBe(2)
  })
})

describe('validation', () => {
  it('takes a 304 that declares the representation\'s Content-Length (RFC 9110 §8.6), which undici reads as a short body', async () => {
    scriptRevalidation('/cl', {}, { 'content-length': '11' })
    await cachingGateway()
    await get('/users/cl')
    await sleep(1100)
    const revalidated = await get('/users/cl')
    expect(revalidated.statusCode).toBe(200)
    expect(revalidated.body).toBe('stored body')
    expect((await get('/users/cl')).headers['cache-status']).toMatch(/^gatehouse; hit/)
    expect(upstream.hits('/cl')).toBe(2)
  })

  it('revalidates a stale response with its ETag and serves the stored body on 304, with the refreshed headers', async () => {
    scriptRevalidation('/r', { 'x-version': 'first' }, { 'x-version': 'refreshed' })
    await cachingGateway()
    await get('/users/r')
    await sleep(1100)
    const revalidated = await get('/users/r')
    expect(revalidated.statusCode).toBe(200)
    expect(revalidated.body).toBe('stored body')
    expect(revalidated.headers['x-version']).toBe('refreshed')
    expect(revalidated.headers['cache-status']).toMatch(/^gatehouse; fwd=stale; fwd-status=304; stored/)
    const fresh = await get('/users/r')
    expect(fresh.headers['cache-status']).toMatch(/^gatehouse; hit/)
    expect(upstream.hits('/r')).toBe(2)
  })

  it('revalidates `no-cache` responses every time, with If-Modified-Since when there is only Last-Modified', async () => {
    const lastModified = new Date(Date.now() - 60_000).toUTCString()
    upstream.script('/nc', ({ headers, hits }) => hits > 1 && headers['if-modified-since'] === lastModified
      ? { status: 304, headers: { 'cache-control': 'no-cache', 'last-modified': lastModified } }
      : { headers: { 'cache-control': 'no-cache', 'last-modified': lastModified }, body: 'nc' })
    await cachingGateway()
    await get('/users/nc')
    const second = await get('/users/nc')
    const third = await get('/users/nc')
    expect([second.body, third.body]).toEqual(['nc', 'nc'])
    expect(upstream.hits('/nc')).toBe(3)
    expect(upstream.requests.filter((request) => request.headers['if-modified-since'] === lastModified)).toHaveLength(2)
  })

  it('answers a client conditional request 304 from a fresh entry', async () => {
    upstream.script('/cond', { headers: { 'cache-control': 'max-age=60', etag: '"e1"' }, body: 'cond' })
    await cachingGateway()
    await get('/users/cond')
    const conditional = await get('/users/cond', { 'if-none-match': 'W/"e0", "e1"' })
    expect(conditional.statusCode).toBe(304)
    expect(conditional.body).toBe('')
    expect(conditional.headers.etag).toBe('"e1"')
    expect(conditional.headers['cache-status']).toMatch(/detail=not-modified/)
    const other = await get('/users/cond', { 'if-none-match': '"e9"' })
    expect(other.statusCode).toBe(200)
    expect(upstream.hits('/cond')).toBe(1)
  })

  it('revalidates a stale entry with its own validators when the client sends other ones, and answers the client from the refreshed entry', async () => {
    upstream.script('/cc', ({ headers, hits }) => hits === 1
      ? { headers: { 'cache-control': 'max-age=1', etag: '"new"' }, body: 'body' }
      : headers['if-none-match'] === '"new"'
        ? { status: 304, headers: { 'cache-control': 'max-age=60', etag: '"new"' } }
        : { headers: { 'cache-control': 'max-age=60', etag: '"new"' }, body: 'refetched' })
    await cachingGateway()
    await get('/users/cc')
    await sleep(1100)
    const outdated = await get('/users/cc', { 'if-none-match': '"old"' })
    expect(outdated.statusCode).toBe(200)
    expect(outdated.body).toBe('body')
    expect(upstream.requests[1]?.headers['if-none-match']).toBe('"new"')
    expect((await get('/users/cc', { 'if-none-match': '"new"' })).statusCode).toBe(304)
    expect(upstream.hits('/cc')).toBe(2)
  })

  it('does not serve a fresh entry to a request with Cache-Control: no-cache', async () => {
    upstream.script('/f', { headers: { 'cache-control': 'max-age=60', etag: '"f"' }, body: 'f' })
    await cachingGateway()
    await get('/users/f')
    await get('/users/f', { 'cache-control': 'no-cache' })
    expect(upstream.hits('/f')).toBe(2)
    expect(upstream.requests[1]?.headers['if-none-match']).toBe('"f"')
  })

  it('serves HEAD from a stored GET without calling the upstream', async () => {
    upstream.script('/head', { headers: { 'cache-control': 'max-age=60', 'content-type': 'text/plain' }, body: 'twelve bytes' })
    await cachingGateway()
    await get('/users/head')
    const head = await get('/users/head', {}, 'HEAD')
    expect(head.statusCode).toBe(200)
    expect(head.body).toBe('')
    expect(head.headers['content-length']).toBe('12')
    expect(upstream.hits('/head')).toBe(1)
  })
})

describe('stale answers (RFC 5861)', () => {
  it('serves stale-while-revalidate at once and refreshes in the background, once', async () => {
    upstream.script('/swr', ({ hits }) => ({ headers: { 'cache-control': 'max-age=1, stale-while-revalidate=30' }, body: `version ${hits}`, delay: hits > 1 ? 100 : 0 }))
    await cachingGateway()
    await get('/users/swr')
    await sleep(1100)
    const [stale, alsoStale] = await Promise.all([get('/users/swr'), get('/users/swr')])
    expect(stale.body).toBe('version 1')
    expect(alsoStale.body).toBe('version 1')
    expect(stale.headers['cache-status']).toMatch(/detail=stale-while-revalidate/)
    await sleep(300)
    const refreshed = await get('/users/swr')
    expect(refreshed.body).toBe('version 2')
    expect(refreshed.headers['cache-status']).toMatch(/^gatehouse; hit/)
    expect(upstream.hits('/swr')).toBe(2)
  })

  it('serves stale-if-error when the upstream answers 5xx, and when it is gone', async () => {
    upstream.script('/sie', ({ hits }) => hits === 1
      ? { headers: { 'cache-control': 'max-age=1, stale-if-error=60' }, body: 'kept' }
      : { status: 503, body: 'down' })
    await cachingGateway()
    await get('/users/sie')
    await sleep(1100)
    const on503 = await get('/users/sie')
    expect(on503.statusCode).toBe(200)
    expect(on503.body).toBe('kept')
    expect(on503.headers['cache-status']).toMatch(/detail=stale-if-error/)
    await upstream.close()
    const onRefused = await get('/users/sie')
    expect(onRefused.statusCode).toBe(200)
    expect(onRefused.body).toBe('kept')
  })

  it('answers the upstream fault when the stale response does not allow stale-if-error', async () => {
    upstream.script('/nosie', { headers: { 'cache-control': 'max-age=1', etag: '"x"' }, body: 'old' })
    await cachingGateway()
    await get('/users/nosie')
    await sleep(1100)
    await upstream.close()
    const answer = await get('/users/nosie')
    expect(answer.statusCode).toBe(502)
    expect(answer.headers['content-type']).toMatch(/problem\+json/)
  })
})

describe('collapsing', () => {
  it('makes one upstream request for 50 concurrent misses', async () => {
    upstream.script('/slow', { headers: { 'cache-control': 'max-age=60' }, body: 'slow', delay: 200 })
    await cachingGateway()
    const answers = await Promise.all(Array.from({ length: 50 }, async () => await get('/users/slow')))
    expect(answers.every((answer) => answer.statusCode === 200 && answer.body === 'slow')).toBe(true)
    expect(upstream.hits('/slow')).toBe(1)
  })

  it('lets waiters go upstream themselves when the first answer cannot be stored', async () => {
    const arrivals: number[] = []
    upstream.script('/private', () => { arrivals.push(Date.now()); return { headers: { 'cache-control': 'private' }, body: 'mine', delay: 300 } })
    await cachingGateway()
    const answers = await Promise.all(Array.from({ length: 5 }, async () => await get('/users/private')))
    expect(answers.every((answer) => answer.body === 'mine')).toBe(true)
    expect(upstream.hits('/private')).toBe(5)
    // The first went alone; the others were released when its answer turned out not storable.
    expect(arrivals[1]! - arrivals[0]!).toBeGreaterThanOrEqual(250)
    // From then on they do not wait for each other (hit-for-pass): all reach the upstream before any answer.
    arrivals.length = 0
    await Promise.all(Array.from({ length: 5 }, async () => await get('/users/private')))
    expect(Math.max(...arrivals) - Math.min(...arrivals)).toBeLessThan(250)
    expect(upstream.hits('/private')).toBe(10)
  })
})

describe('invalidation (RFC 9111 §4.4)', () => {
  it('drops the stored response after a successful POST, and for its Location', async () => {
    upstream.script('/item', ({ method, hits }) => method === 'POST'
      ? { status: 201, headers: { location: '/other' }, body: '' }
      : { headers: { 'cache-control': 'max-age=60' }, body: `item ${hits}` })
    upstream.script('/other', ({ hits }) => ({ headers: { 'cache-control': 'max-age=60' }, body: `other ${hits}` }))
    await cachingGateway()
    await get('/users/item'); await get('/users/other')
    const post = await gateway.inject({ method: 'POST', url: '/users/item', payload: 'x' })
    expect(post.statusCode).toBe(201)
    expect((await get('/users/item')).body).toBe('item 3')
    expect((await get('/users/other')).body).toBe('other 2')
  })

  it('keeps the stored response when the unsafe request fails', async () => {
    upstream.script('/keep', ({ method }) => method === 'DELETE' ? { status: 500, body: 'no' } : { headers: { 'cache-control': 'max-age=60' }, body: 'keep' })
    await cachingGateway()
    await get('/users/keep')
    await gateway.inject({ method: 'DELETE', url: '/users/keep' })
    await get('/users/keep')
    expect(upstream.hits('/keep')).toBe(2)
  })
})

describe('response hooks', () => {
  it('never passes the upstream\'s purge tags to clients, and runs onSend hooks (CORS) on a hit', async () => {
    upstream.script('/t', { headers: { 'cache-control': 'max-age=60', 'cache-tag': 'users,list', 'surrogate-key': 'a b' }, body: 't' })
    await cachingGateway({ cors: { origins: ['https://app.example'] } })
    const miss = await get('/users/t', { origin: 'https://app.example' })
    const hit = await get('/users/t', { origin: 'https://app.example' })
    for (const answer of [miss, hit]) {
      expect(answer.headers['cache-tag']).toBeUndefined()
      expect(answer.headers['surrogate-key']).toBeUndefined()
      expect(answer.headers['access-control-allow-origin']).toBe('https://app.example')
    }
    expect(hit.headers['cache-status']).toMatch(/^gatehouse; hit/)
  })
})

describe('what the reviewer found (each once a wrong answer or a crash)', () => {
  it('joins a Cache-Control sent on two lines, and does not store (nor crash on) two ETags', async () => {
    upstream.server.removeAllListeners('request')
    upstream.server.on('request', (request, response) => {
      response.setHeader('cache-control', request.url === '/two-lines' ? ['public', 'max-age=60'] : 'max-age=60')
      if (request.url === '/two-etags') response.setHeader('etag', ['"a"', '"b"'])
      response.end('x')
    })
    await cachingGateway()
    await get('/users/two-lines')
    expect((await get('/users/two-lines')).headers['cache-status']).toMatch(/^gatehouse; hit/)
    expect((await get('/users/two-etags')).statusCode).toBe(200)
    expect((await get('/users/two-etags')).headers['cache-status']).toMatch(/^gatehouse; fwd=miss(;|$)/)
  })

  it('matches a Vary field the request does not send', async () => {
    upstream.script('/o', { headers: { 'cache-control': 'max-age=60', vary: 'Origin' }, body: 'o' })
    await cachingGateway()
    await get('/users/o')
    expect((await get('/users/o')).headers['cache-status']).toMatch(/^gatehouse; hit/)
    expect(upstream.hits('/o')).toBe(1)
  })

  it('keys by the host the client addressed', async () => {
    upstream.script('/h', ({ headers }) => ({ headers: { 'cache-control': 'max-age=60' }, body: `for ${String(headers['x-forwarded-host'])}` }))
    await cachingGateway()
    expect((await get('/users/h', { host: 'a.example' })).body).toBe('for a.example')
    expect((await get('/users/h', { host: 'evil.example' })).body).toBe('for evil.example')
    expect((await get('/users/h', { host: 'a.example' })).body).toBe('for a.example')
    expect(upstream.hits('/h')).toBe(2)
  })

  it('does not store an answer that varies on a header the gateway sets (identity, forwarding)', async () => {
    upstream.script('/me', ({ headers }) => ({ headers: { 'cache-control': 's-maxage=60', vary: 'X-User-Id' }, body: `me ${String(headers['x-user-id'])}` }))
    gateway = await gatewayFor(oneService([upstream.url], { cache: true, auth: true }, { auth: { secrets: [{ secret: HS_SECRET }] } }))
    const alice = await get('/users/me', { authorization: `Bearer ${await hsToken({ sub: 'alice' })}` })
    const bob = await get('/users/me', { authorization: `Bearer ${await hsToken({ sub: 'bob' })}` })
    expect([alice.body, bob.body]).toEqual(['me alice', 'me bob'])
    expect(bob.headers['cache-status']).toBe('gatehouse; fwd=miss')
  })

  it('does not store an answer selected by a field a team plugin sets after the lookup', async () => {
    upstream.script('/tenant', ({ headers }) => ({ headers: { 'cache-control': 'public, max-age=60', vary: 'X-Tenant' }, body: `for ${String(headers['x-tenant'])}` }))
    gateway = await gatewayFor(oneService([upstream.url], { cache: true, compression: false, plugins: [fileURLToPath(new URL('./fixtures/late-tenant.js', import.meta.url))] }))
    expect((await get('/users/tenant', { 'x-api-tenant': 'a' })).body).toBe('for a')
    // Tenant b claims tenant a's selection: it must not get a's answer.
    expect((await get('/users/tenant', { 'x-api-tenant': 'b', 'x-tenant': 'a' })).body).toBe('for b')
    expect((await get('/users/tenant', { 'x-api-tenant': 'a' })).headers['cache-status']).toMatch(/^gatehouse; fwd=miss(;|$)/)
  })

  it('takes the age of a refreshed answer from the 304, not from the stored copy', async () => {
    upstream.script('/aged', ({ hits }) => hits === 1
      ? { headers: { 'cache-control': 'max-age=600', age: '700', etag: '"aged"' }, body: 'aged' }
      : { status: 304, headers: { 'cache-control': 'max-age=600', etag: '"aged"' } })
    await cachingGateway()
    await get('/users/aged')
    expect((await get('/users/aged')).headers['cache-status']).toMatch(/fwd-status=304/)
    const hit = await get('/users/aged')
    expect(hit.headers['cache-status']).toMatch(/^gatehouse; hit/)
    expect(Number(hit.headers.age)).toBeLessThan(600)
    expect(upstream.hits('/aged')).toBe(2)
  })

  it('never serves stale-while-revalidate when the answer says no-cache', async () => {
    upstream.script('/nc-swr', ({ hits }) => hits === 1
      ? { headers: { 'cache-control': 'no-cache, stale-while-revalidate=60', etag: '"s"' }, body: 'first' }
      : { headers: { 'cache-control': 'no-cache, stale-while-revalidate=60', etag: '"t"' }, body: 'second' })
    await cachingGateway()
    await get('/users/nc-swr')
    expect((await get('/users/nc-swr')).body).toBe('second')
  })

  it('serves a fresh must-revalidate answer without asking the upstream', async () => {
    upstream.script('/mr', { headers: { 'cache-control': 'max-age=60, must-revalidate', etag: '"m"' }, body: 'm' })
    await cachingGateway()
    await get('/users/mr')
    expect((await get('/users/mr')).headers['cache-status']).toMatch(/^gatehouse; hit/)
    expect(upstream.hits('/mr')).toBe(1)
  })

  it('adds the fields a 304 brings (a new max-age makes the entry fresh again)', async () => {
    upstream.script('/add', ({ hits }) => hits === 1
      ? { headers: { etag: '"v"', 'cache-control': 'no-cache' }, body: 'stored' }
      : { status: 304, headers: { etag: '"v"', 'cache-control': 'max-age=60', 'x-added': 'yes' } })
    await cachingGateway()
    await get('/users/add')
    const revalidated = await get('/users/add')
    expect(revalidated.body).toBe('stored')
    expect(revalidated.headers['x-added']).toBe('yes')
    expect((await get('/users/add')).headers['cache-status']).toMatch(/^gatehouse; hit/)
    expect(upstream.hits('/add')).toBe(2)
  })

  it('does not hand out a stored answer on error when the upstream never allowed stale-if-error', async () => {
    upstream.script('/fresh', ({ hits }) => hits === 1 ? { headers: { 'cache-control': 'max-age=60' }, body: 'fresh' } : { status: 503, body: 'down' })
    await cachingGateway()
    await get('/users/fresh')
    const answer = await get('/users/fresh', { 'cache-control': 'no-cache' })
    expect(answer.statusCode).toBe(503)
  })

  it('strips purge tags from answers to unsafe methods too', async () => {
    upstream.script('/tagged', { status: 201, headers: { 'cache-tag': 'internal' }, body: '' })
    await cachingGateway()
    const post = await gateway.inject({ method: 'POST', url: '/users/tagged', payload: 'x' })
    expect(post.headers['cache-tag']).toBeUndefined()
  })

  it('answers a client conditional against a stored 404 with the 404, not a 304', async () => {
    upstream.script('/missing', { status: 404, headers: { 'cache-control': 'max-age=60', 'last-modified': new Date(Date.now() - 60_000).toUTCString() }, body: 'nope' })
    await cachingGateway()
    await get('/users/missing')
    const answer = await get('/users/missing', { 'if-modified-since': new Date().toUTCString() })
    expect(answer.statusCode).toBe(404)
  })
})

describe('with compression', () => {
  it('stores the identity body once and serves gzip, br and identity hits from it', async () => {
    const json = JSON.stringify({ items: Array.from({ length: 400 }, (_, index) => ({ index, name: `item ${index}` })) })
    upstream.script('/big', { headers: { 'cache-control': 'max-age=60', 'content-type': 'application/json', etag: '"big"' }, body: json })
    gateway = await gatewayFor(oneService([upstream.url], { cache: true }))
    const miss = await get('/users/big', { 'accept-encoding': 'gzip' })
    expect(miss.headers['content-encoding']).toBe('gzip')
    expect(gunzipSync(miss.rawPayload).toString()).toBe(json)
    // The upstream was asked for the identity body: the one copy every variant is made from.
    expect(upstream.requests[0]?.headers['accept-encoding']).toBe('identity')
    const gzipHit = await get('/users/big', { 'accept-encoding': 'gzip' })
    expect(gzipHit.headers['cache-status']).toMatch(/^gatehouse; hit/)
    expect(gzipHit.headers['content-encoding']).toBe('gzip')
    expect(gzipHit.headers.etag).toBe('W/"big"')
    expect(gzipHit.headers.vary).toMatch(/accept-encoding/i)
    expect(gunzipSync(gzipHit.rawPayload).toString()).toBe(json)
    const brHit = await get('/users/big', { 'accept-encoding': 'br' })
    expect(brotliDecompressSync(brHit.rawPayload).toString()).toBe(json)
    const identityHit = await get('/users/big')
    expect(identityHit.headers['content-encoding']).toBeUndefined()
    expect(identityHit.headers.etag).toBe('"big"')
    expect(identityHit.body).toBe(json)
    expect(upstream.hits('/big')).toBe(1)
    // A conditional request with the weakened tag of a compressed copy is still answered 304.
    const notModified = await get('/users/big', { 'accept-encoding': 'gzip', 'if-none-match': 'W/"big"' })
    expect(notModified.statusCode).toBe(304)
    // The validators and Vary its 200 would have carried (RFC 9110 §15.4.5).
    expect(notModified.headers.etag).toBe('W/"big"')
    expect(notModified.headers.vary).toMatch(/accept-encoding/i)
    expect((await get('/users/big', { 'if-none-match': '"big"' })).headers.etag).toBe('"big"')
  })
})
