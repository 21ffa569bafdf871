import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { kRateLimit } from '../../src/rate-limit/state.js'
import type { RunningGateway } from '../../src/server.js'
import { listeningGatewayFor, type ServicesFileValue } from '../helpers/gateway.js'
import { expectProblem } from '../helpers/problem.js'
import {
  deleteKeys, hasRedisServerBinary, redisAnswers, REDIS_URL, skipWithout, startPrivateRedis, uniqueKeyPrefix, type PrivateRedis
} from '../helpers/redis.js'
import { startUpstream, type TestUpstream } from '../helpers/upstream.js'

const sharedRedisMissing = skipWithout(`Redis at ${REDIS_URL}`, await redisAnswers(REDIS_URL))
const redisServerMissing = skipWithout('the redis-server binary', hasRedisServerBinary())

// Well under a second: Redis trouble must fail a store call at once, never hold the request (no benchmark).
const NO_STALL_MS = 1_000

let upstream: TestUpstream
const gateways: RunningGateway[] = []

beforeEach(async () => { upstream = await startUpstream() })
afterEach(async () => {
  for (const gateway of gateways.splice(0)) await gateway.close()
  await upstream.close()
})

/** One service behind a gateway counting in Redis; `redis` is gateway.redis (url, keyPrefix, timeouts). */
function fleet (redis: Record<string, unknown>, rateLimit: Record<string, unknown>, service: Record<string, unknown> = {}): ServicesFileValue {
  return {
    gateway: { rateLimit: { store: 'redis', ...rateLimit }, redis },
    services: [{ name: 'users', prefix: '/users', upstreams: [upstream.url], ...service }]
  }
}

async function gatewayFor (file: ServicesFileValue): Promise<RunningGateway> {
  const gateway = await listeningGatewayFor(file)
  gateways.push(gateway)
  return gateway
}

interface Timed { readonly status: number, readonly ms: number, readonly headers: Headers, readonly body: string }

async function timedGet (gateway: RunningGateway, path = '/users/1'): Promise<Timed> {
  const started = performance.now()
  const response = await fetch(`${gateway.url}${path}`)
  const body = await response.text()
  return { status: response.status, ms: performance.now() - started, headers: response.headers, body }
}

function asAnswer (timed: Timed): { statusCode: number, headers: Record<string, unknown>, body: string } {
  return { statusCode: timed.status, headers: Object.fromEntries(timed.headers), body: timed.body }
}

async function storeStatus (gateway: RunningGateway): Promise<Record<string, unknown>> {
  return (await fetch(`${gateway.url}/_gatehouse/rate-limit`)).json() as Promise<Record<string, unknown>>
}

/** Resolves once the gateway's Redis client is connected and ready (an event, not a sleep). */
async function redisReady (gateway: RunningGateway): Promise<void> {
  const client = gateway.app[kRateLimit].redis
  if (client === null) throw new Error('the gateway has no Redis client')
  // Not events.once: it rejects on the first 'error', and a reconnect may fail a few times before it is ready.
  if (client.status !== 'ready') await new Promise<void>((resolve) => { client.once('ready', () => { resolve() }) })
}

describe.skipIf(sharedRedisMissing)('rate limits in Redis shared by gateway processes', () => {
  const keyPrefix = uniqueKeyPrefix()
  afterAll(async () => { await deleteKeys(REDIS_URL, keyPrefix) })

  it(`has Redis at ${REDIS_URL}`, async () => {
    expect(await redisAnswers(REDIS_URL), `Redis must answer at ${REDIS_URL}`).toBe(true)
  })

  it('lets two gateways share one limit exactly: 3 requests to each under max 5 give one 429', async () => {
    const file = fleet({ url: REDIS_URL, keyPrefix: keyPrefix + 'shared:' }, { perIp: { max: 5 } })
    const [a, b] = [await gatewayFor(file), await gatewayFor(file)]
    const seen: number[] = []
    for (const gateway of [a, b, a, b, a, b]) seen.push((await timedGet(gateway)).status)
    expect(seen).toEqual([200, 200, 200, 200, 200, 429])
    expect(await storeStatus(a)).toEqual({ store: 'redis', storeStatus: 'ready', failOpen: 0, failClosed: 0 })
  })

  it('keeps each tier\'s counters under its own key below gateway.redis.keyPrefix', async () => {
    const prefix = keyPrefix + 'tiers:'
    const gateway = await gatewayFor(fleet({ url: REDIS_URL, keyPrefix: prefix }, { perIp: { max: 3 } }, { rateLimit: { max: 3, key: 'ip' } }))
    const responses = [await timedGet(gateway), await timedGet(gateway), await timedGet(gateway)]
    expect(responses.map((response) => response.status)).toEqual([200, 200, 200])
    expect(responses[2]?.headers.get('ratelimit')).toMatch(/^"ip";r=0;t=\d+, "user";r=0;t=\d+$/)
    const client = new Redis(REDIS_URL)
    try {
      expect((await client.keys(`${prefix}*`)).sort()).toEqual([`${prefix}rl:ip:127.0.0.1`, `${prefix}rl:service:users:user:ip:127.0.0.1`])
    } finally {
      client.disconnect()
    }
  })
})

describe.skipIf(redisServerMissing)('a Redis outage', () => {
  let redis: PrivateRedis
  const keyPrefix = uniqueKeyPrefix()

  beforeAll(async () => { redis = await startPrivateRedis() })
  afterAll(async () => { await redis.kill() })

  it('lets requests through at once under "open", counts them, and counts again once Redis is back', async () => {
    const gateway = await gatewayFor(fleet({ url: redis.url, keyPrefix: keyPrefix + 'open:' }, { perIp: { max: 3 } }))
    expect((await timedGet(gateway)).headers.get('ratelimit')).toMatch(/^"ip";r=2;/)

    await redis.kill()
    for (let i = 0; i < 5; i++) {
      const during = await timedGet(gateway)
      expect(during.status).toBe(200)
      expect(during.ms).toBeLessThan(NO_STALL_MS)
      expect(during.headers.get('ratelimit')).toBeNull()
    }
    expect(await storeStatus(gateway)).toMatchObject({ store: 'redis', failOpen: 5, failClosed: 0 })
    expect((await storeStatus(gateway)).storeStatus).not.toBe('ready')

    await redis.start()
    await redisReady(gateway)
    // A fresh server: counting starts over, and the limit holds again.
    expect((await timedGet(gateway)).headers.get('ratelimit')).toMatch(/^"ip";r=2;/)
    expect((await timedGet(gateway)).status).toBe(200)
    expect((await timedGet(gateway)).status).toBe(200)
    expectProblem(asAnswer(await timedGet(gateway)), 429, 'GATEHOUSE_RATE_LIMITED')
  })

  it('answers 503 GATEHOUSE_RATE_LIMIT_UNAVAILABLE at once under "closed", and serves again once Redis is back', async () => {
    const gateway = await gatewayFor(fleet({ url: redis.url, keyPrefix: keyPrefix + 'closed:' }, { failurePolicy: 'closed' }, { rateLimit: { max: 2, key: 'ip' } }))
    expect((await timedGet(gateway)).status).toBe(200)

    await redis.kill()
    for (let i = 0; i < 3; i++) {
      const during = await timedGet(gateway)
      expectProblem(asAnswer(during), 503, 'GATEHOUSE_RATE_LIMIT_UNAVAILABLE')
      expect(during.ms).toBeLessThan(NO_STALL_MS)
    }
    expect((await timedGet(gateway, '/_gatehouse/healthz')).status).toBe(200)
    expect(await storeStatus(gateway)).toMatchObject({ failOpen: 0, failClosed: 3 })
    expect(upstream.requests).toHaveLength(1)

    await redis.start()
    await redisReady(gateway)
    expect((await timedGet(gateway)).headers.get('ratelimit')).toMatch(/^"user";r=1;/)
    expect((await timedGet(gateway)).status).toBe(200)
    expect((await timedGet(gateway)).status).toBe(429)
  })

  it('never waits longer than commandTimeout for a Redis that hangs, and counts again once it answers', async () => {
    const gateway = await gatewayFor(fleet({ url: redis.url, keyPrefix: keyPrefix + 'frozen:', commandTimeout: 100 }, { perIp: { max: 10 } }))
    expect((await timedGet(gateway)).headers.get('ratelimit')).toMatch(/^"ip";r=9;/)
    redis.freeze(true)
    try {
      const during = await timedGet(gateway)
      expect(during.status).toBe(200)
      expect(during.ms).toBeLessThan(NO_STALL_MS)
      expect(during.headers.get('ratelimit')).toBeNull()
      expect(await storeStatus(gateway)).toMatchObject({ failOpen: 1 })
    } finally {
      redis.freeze(false)
    }
    expect((await timedGet(gateway)).headers.get('ratelimit')).toMatch(/^"ip";r=\d+;/)
  })

  it('drops a connection that stays silent, so commands do not pile up to be replayed when Redis wakes', async () => {
    const gateway = await gatewayFor(fleet({ url: redis.url, keyPrefix: keyPrefix + 'silent:', commandTimeout: 100 }, { perIp: { max: 100_000 } }))
    const client = gateway.app[kRateLimit].redis as Redis
    expect((await timedGet(gateway)).status).toBe(200)
    redis.freeze(true)
    try {
      for (let burst = 0; burst < 5; burst++) {
        const answers = await Promise.all(Array.from({ length: 200 }, async () => timedGet(gateway)))
        for (const answer of answers) expect(answer.status).toBe(200)
      }
      // Within 2 × commandTimeout the silent socket is dropped: what waits in ioredis' queue is at most the
      // handshake of the next connection attempt, not the thousand counts sent meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 300))
      expect(client.status).not.toBe('ready')
      expect((client as unknown as { commandQueue: { length: number } }).commandQueue.length).toBeLessThan(10)
    } finally {
      redis.freeze(false)
    }
    await redisReady(gateway)
    // What piled up while frozen was not replayed: far fewer than the 1000 requests were counted.
    const remaining = Number(/"ip";r=(\d+);/.exec((await timedGet(gateway)).headers.get('ratelimit') ?? '')?.[1])
    expect(100_000 - remaining).toBeLessThan(500)
  })
})
