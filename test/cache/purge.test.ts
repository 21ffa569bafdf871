/**
 * The purge endpoint and the per-subject partition (issue 4), against a real upstream that counts.
 */
import type { FastifyInstance } from 'fastify'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { gatewayFor, oneService } from '../helpers/gateway.js'
import { HS_SECRET, hsToken } from '../helpers/jwt.js'
import { expectProblem } from '../helpers/problem.js'
import { startScriptedUpstream, type ScriptedUpstream } from './scripted-upstream.js'

const PURGE_TOKEN = 'purge-token-that-is-at-least-32-characters'

let upstream: ScriptedUpstream
let gateway: FastifyInstance

beforeEach(async () => {
  upstream = await startScriptedUpstream()
})

afterEach(async () => {
  await gateway?.close()
  await upstream.close()
})

async function purge (query: string, token = PURGE_TOKEN) {
  return gateway.inject({ method: 'POST', url: `/_gatehouse/cache/purge?${query}`, headers: { authorization: `Bearer ${token}` } })
}

describe('purge endpoint', () => {
  beforeEach(async () => {
    for (const path of ['/1', '/2', '/list?page=1']) {
      upstream.script(path, ({ hits }) => ({ headers: { 'cache-control': 'max-age=600', 'cache-tag': path === '/1' ? 'user-1, users' : 'users', 'surrogate-key': path === '/2' ? 'two' : 'x' }, body: `${path} v${hits}` }))
    }
    gateway = await gatewayFor(oneService([upstream.url], { cache: true, compression: false }, { cache: { purgeToken: PURGE_TOKEN } }))
    for (const url of ['/users/1', '/users/2', '/users/list?page=1']) await gateway.inject(url)
  })

  async function body (url: string): Promise<string> {
    return (await gateway.inject(url)).body
  }

  it('refuses a missing or wrong token with 401 problem+json, and a request naming no single target with 400', async () => {
    const missing = await gateway.inject({ method: 'POST', url: '/_gatehouse/cache/purge?url=/users/1' })
    expectProblem({ statusCode: missing.statusCode, headers: missing.headers, body: missing.body }, 401, 'GATEHOUSE_ADMIN_TOKEN_INVALID', [PURGE_TOKEN])
    const wrong = await purge('url=/users/1', `${PURGE_TOKEN}x`)
    expect(wrong.statusCode).toBe(401)
    for (const query of ['', 'url=/users/1&tag=users', 'url=users/1', 'prefix=', 'url=/a&url=/b']) {
      const answer = await purge(query)
      expectProblem({ statusCode: answer.statusCode, headers: answer.headers, body: answer.body }, 400, 'GATEHOUSE_PURGE_TARGET')
    }
    expect(await body('/users/1')).toBe('/1 v1')
  })

  it('purges one URL', async () => {
    expect((await purge('url=/users/1')).json()).toEqual({ purged: 1 })
    expect(await body('/users/1')).toBe('/1 v2')
    expect(await body('/users/2')).toBe('/2 v1')
  })

  it('purges by prefix, query strings included', async () => {
    expect((await purge('prefix=/users/l')).json()).toEqual({ purged: 1 })
    expect(await body('/users/list?page=1')).toBe('/list?page=1 v2')
    expect(await body('/users/1')).toBe('/1 v1')
  })

  it('purges by Cache-Tag and by Surrogate-Key', async () => {
    expect((await purge('tag=user-1')).json()).toEqual({ purged: 1 })
    expect((await purge('tag=two')).json()).toEqual({ purged: 1 })
    expect(await body('/users/1')).toBe('/1 v2')
    expect(await body('/users/2')).toBe('/2 v2')
    expect(await body('/users/list?page=1')).toBe('/list?page=1 v1')
    expect((await purge('tag=users')).json()).toEqual({ purged: 3 })
  })

  it('reports the store size', async () => {
    const usage = (await gateway.inject('/_gatehouse/cache')).json<{ bytes: number, resources: number }>()
    expect(usage.resources).toBe(3)
    expect(usage.bytes).toBeGreaterThan(0)
  })
})

it('has no purge endpoint without a purge token', async () => {
  gateway = await gatewayFor(oneService([upstream.url], { cache: true }))
  expect((await purge('url=/users/1')).statusCode).toBe(404)
})

describe('partitionBySubject', () => {
  it('stores private answers per verified subject and never serves them to another', async () => {
    upstream.script('/me', ({ headers }) => ({ headers: { 'cache-control': 'private, max-age=600' }, body: `profile of ${String(headers['x-user-id'])}` }))
    gateway = await gatewayFor(oneService([upstream.url], { cache: { partitionBySubject: true }, auth: true }, { auth: { secrets: [{ secret: HS_SECRET }] } }))
    const alice = { authorization: `Bearer ${await hsToken({ sub: 'alice' })}` }
    const bob = { authorization: `Bearer ${await hsToken({ sub: 'bob' })}` }
    expect((await gateway.inject({ url: '/users/me', headers: alice })).body).toBe('profile of alice')
    expect((await gateway.inject({ url: '/users/me', headers: bob })).body).toBe('profile of bob')
    const aliceAgain = await gateway.inject({ url: '/users/me', headers: alice })
    expect(aliceAgain.body).toBe('profile of alice')
    expect(aliceAgain.headers['cache-status']).toMatch(/^gatehouse; hit/)
    expect(upstream.hits('/me')).toBe(2)
    // A token is still required for a hit.
    expect((await gateway.inject({ url: '/users/me' })).statusCode).toBe(401)
  })

  it('is refused for a service without auth, at its JSON path', async () => {
    await expect(gatewayFor(oneService([upstream.url], { cache: { partitionBySubject: true } }))).rejects.toThrow(/services\[0\]\.cache\.partitionBySubject/)
  })
})
