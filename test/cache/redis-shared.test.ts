/**
 * The Redis response store between two gateway instances (issue 4): one stores, the other serves; a purge
 * or an invalidation through either reaches both; Redis going away turns hits into misses, never errors.
 */
import type { FastifyInstance } from 'fastify'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { gatewayFor, type ServicesFileValue } from '../helpers/gateway.js'
import { deleteKeys, hasRedisServerBinary, redisAnswers, REDIS_URL, skipWithout, startPrivateRedis, uniqueKeyPrefix, type PrivateRedis } from '../helpers/redis.js'
import { startScriptedUpstream, type ScriptedUpstream } from './scripted-upstream.js'

const sharedRedisMissing = skipWithout(`Redis at ${REDIS_URL}`, await redisAnswers(REDIS_URL))
const redisServerMissing = skipWithout('the redis-server binary', hasRedisServerBinary())
const PURGE_TOKEN = 'purge-token-that-is-at-least-32-characters'
// Redis trouble must never hold a request: well under the upstream timeouts (no benchmark).
const NO_STALL_MS = 1_000

let upstream: ScriptedUpstream
const gateways: FastifyInstance[] = []

beforeEach(async () => {
  upstream = await startScriptedUpstream()
  upstream.script('/item', ({ method, hits }) => method === 'PUT'
    ? { status: 204 }
    : { headers: { 'cache-control': 'public, max-age=600', 'cache-tag': 'items', 'content-type': 'application/json' }, body: JSON.stringify({ version: hits }) })
})

afterEach(async () => {
  for (const gateway of gateways.splice(0)) await gateway.close()
  await upstream.close()
})

function sharedCacheFile (redisUrl: string, keyPrefix: string): ServicesFileValue {
  return {
    gateway: { cache: { store: 'redis', purgeToken: PURGE_TOKEN }, redis: { url: redisUrl, keyPrefix } },
    services: [{ name: 'items', prefix: '/items', upstreams: [upstream.url], cache: true }]
  }
}

async function twoGateways (redisUrl: string, keyPrefix: string): Promise<[FastifyInstance, FastifyInstance]> {
  const first = await gatewayFor(sharedCacheFile(redisUrl, keyPrefix))
  const second = await gatewayFor(sharedCacheFile(redisUrl, keyPrefix))
  gateways.push(first, second)
  return [first, second]
}

describe.skipIf(sharedRedisMissing)('two gateways on one Redis', () => {
  const keyPrefix = uniqueKeyPrefix()
  afterAll(async () => { await deleteKeys(REDIS_URL, keyPrefix) })

  it('serve each other\'s entries, and one purge or invalidation reaches both', async () => {
    const [first, second] = await twoGateways(REDIS_URL, keyPrefix)
    const stored = await first.inject('/items/item')
    expect(stored.headers['cache-status']).toMatch(/fwd=miss; stored/)
    const shared = await second.inject('/items/item')
    expect(shared.json()).toEqual({ version: 1 })
    expect(shared.headers['cache-status']).toMatch(/^gatehouse; hit/)
    expect(shared.headers['content-type']).toBe('application/json')
    expect(upstream.hits('/item')).toBe(1)

    const purged = await second.inject({ method: 'POST', url: '/_gatehouse/cache/purge?tag=items', headers: { authorization: `Bearer ${PURGE_TOKEN}` } })
    expect(purged.json()).toEqual({ purged: 1 })
    expect((await first.inject('/items/item')).json()).toEqual({ version: 2 })
    expect((await second.inject('/items/item')).json()).toEqual({ version: 2 })

    expect((await first.inject({ method: 'PUT', url: '/items/item', payload: '{}' })).statusCode).toBe(204)
    expect((await second.inject('/items/item')).json()).toEqual({ version: 4 })
    expect(upstream.hits('/item')).toBe(4)
  })
})

describe.skipIf(redisServerMissing)('a Redis that goes away', () => {
  let redis: PrivateRedis
  beforeAll(async () => { redis = await startPrivateRedis() })
  afterAll(async () => { await redis.kill() })

  it('turns hits into misses at once, and serves from the store again once Redis is back', async () => {
    const [first, second] = await twoGateways(redis.url, uniqueKeyPrefix())
    await first.inject('/items/item')
    await redis.kill()
    const started = Date.now()
    const answers = await Promise.all([first.inject('/items/item'), second.inject('/items/item')])
    expect(Date.now() - started).toBeLessThan(NO_STALL_MS)
    expect(answers.map((answer) => answer.statusCode)).toEqual([200, 200])
    expect(upstream.hits('/item')).toBe(3)
    await redis.start()
    // Each gateway reconnects on its own schedule (backoff up to 2 s); then one stores and the other serves.
    await waitUntil(async () => {
      await second.inject('/items/item')
      return /^gatehouse; hit/.test(String((await first.inject('/items/item')).headers['cache-status']))
    })
  })
})

async function waitUntil (condition: () => Promise<boolean>): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (await condition()) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error('condition not met within 5 s')
}
