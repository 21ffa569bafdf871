import { afterEach, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { DOWN_COOLDOWN_MS, UpstreamPool } from '../../src/upstream/pool.js'
import { gatewayFor, oneService } from '../helpers/gateway.js'
import { startUpstream, type TestUpstream } from '../helpers/upstream.js'

const A = 'http://a.test:1'
const B = 'http://b.test:2'
const C = 'http://c.test:3'

function picks (pool: UpstreamPool, count: number): string[] {
  return Array.from({ length: count }, () => pool.pick())
}

describe('UpstreamPool', () => {
  it('goes round-robin over equally weighted upstreams, in configuration order', () => {
    const pool = new UpstreamPool([{ url: A, weight: 1 }, { url: B, weight: 1 }, { url: C, weight: 1 }])
    expect(pool.size).toBe(3)
    expect(picks(pool, 7)).toEqual([A, B, C, A, B, C, A])
  })

  it('spreads weights 5/1/1 smoothly as a,a,b,a,c,a,a instead of a burst of five', () => {
    const pool = new UpstreamPool([{ url: A, weight: 5 }, { url: B, weight: 1 }, { url: C, weight: 1 }])
    expect(picks(pool, 7)).toEqual([A, A, B, A, C, A, A])
    // The cycle repeats exactly.
    expect(picks(pool, 7)).toEqual([A, A, B, A, C, A, A])
  })

  it('gives each upstream its weight\'s share of every full cycle', () => {
    const pool = new UpstreamPool([{ url: A, weight: 3 }, { url: B, weight: 2 }, { url: C, weight: 1 }])
    const counts = new Map<string, number>()
    for (const url of picks(pool, 600)) counts.set(url, (counts.get(url) ?? 0) + 1)
    expect(Object.fromEntries(counts)).toEqual({ [A]: 300, [B]: 200, [C]: 100 })
  })

  it('always picks the only upstream of a pool of one', () => {
    const pool = new UpstreamPool([{ url: A, weight: 7 }])
    expect(picks(pool, 3)).toEqual([A, A, A])
  })
})

describe('UpstreamPool with upstreams down', () => {
  let now = 0
  const clock = (): number => now

  it('skips an upstream that refused a connection until its cooldown ends', () => {
    now = 1_000
    const pool = new UpstreamPool([{ url: A, weight: 1 }, { url: B, weight: 1 }], clock)
    pool.reportDown(A)
    expect(picks(pool, 4)).toEqual([B, B, B, B])
    now += DOWN_COOLDOWN_MS
    expect(picks(pool, 4).sort()).toEqual([A, A, B, B])
  })

  it('brings an upstream back as soon as it answers', () => {
    now = 1_000
    const pool = new UpstreamPool([{ url: A, weight: 1 }, { url: B, weight: 1 }], clock)
    pool.reportDown(A)
    pool.reportUp(A)
    expect(picks(pool, 4).sort()).toEqual([A, A, B, B])
  })

  it('says how long until a retry when every upstream is down, and 0 otherwise', () => {
    now = 1_000
    const pool = new UpstreamPool([{ url: A, weight: 1 }, { url: B, weight: 1 }], clock)
    expect(pool.allDownFor()).toBe(0)
    pool.reportDown(A)
    expect(pool.allDownFor()).toBe(0)
    now += 200
    pool.reportDown(B)
    expect(pool.allDownFor()).toBe(DOWN_COOLDOWN_MS - 200)
    now += DOWN_COOLDOWN_MS
    expect(pool.allDownFor()).toBe(0)
  })
})

describe('load balancing through the gateway', () => {
  let upstreams: TestUpstream[] = []
  let app: FastifyInstance | undefined

  afterEach(async () => {
    await app?.close()
    await Promise.all(upstreams.map((upstream) => upstream.close()))
    upstreams = []
    app = undefined
  })

  async function sendGets (gateway: FastifyInstance, count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const response = await gateway.inject({ method: 'GET', url: `/users/${i}` })
      expect(response.statusCode).toBe(200)
    }
  }

  it('spreads 30 GETs over 3 upstreams 10/10/10', async () => {
    upstreams = await Promise.all([startUpstream(), startUpstream(), startUpstream()])
    app = await gatewayFor(oneService(upstreams.map((upstream) => upstream.url)))
    await sendGets(app, 30)
    expect(upstreams.map((upstream) => upstream.requests.length)).toEqual([10, 10, 10])
    // Round-robin, not random: consecutive requests land on different replicas.
    expect(upstreams[0]?.requests.map((request) => request.url)).toEqual(
      ['/0', '/3', '/6', '/9', '/12', '/15', '/18', '/21', '/24', '/27'])
  })

  it('splits 30 GETs 20/10 over upstreams weighted 2/1', async () => {
    upstreams = await Promise.all([startUpstream(), startUpstream()])
    app = await gatewayFor({
      services: [{
        name: 'users',
        prefix: '/users',
        upstreams: [{ url: upstreams[0]?.url, weight: 2 }, { url: upstreams[1]?.url, weight: 1 }]
      }]
    })
    await sendGets(app, 30)
    expect(upstreams.map((upstream) => upstream.requests.length)).toEqual([20, 10])
  })

  it('moves traffic off a replica that refuses connections', async () => {
    upstreams = await Promise.all([startUpstream(), startUpstream()])
    const dead = upstreams[0] as TestUpstream
    const deadUrl = dead.url
    await dead.close()
    app = await gatewayFor(oneService([deadUrl, (upstreams[1] as TestUpstream).url]))
    const statuses: number[] = []
    for (let i = 0; i < 10; i++) statuses.push((await app.inject({ method: 'GET', url: `/users/${i}` })).statusCode)
    // Only the request that found it refusing fails; the rest go to the live replica.
    expect(statuses.filter((status) => status !== 200)).toEqual([502])
    expect(upstreams[1]?.requests).toHaveLength(9)
  })

  it('answers 503 with Retry-After, without trying, while every replica is down', async () => {
    upstreams = [await startUpstream()]
    const deadUrl = (upstreams[0] as TestUpstream).url
    await upstreams[0]?.close()
    upstreams = []
    app = await gatewayFor(oneService([deadUrl]))
    expect((await app.inject({ method: 'GET', url: '/users/1' })).json()).toMatchObject({ code: 'GATEHOUSE_UPSTREAM_UNREACHABLE' })
    const second = await app.inject({ method: 'GET', url: '/users/2' })
    expect(second.statusCode).toBe(503)
    expect(second.json()).toMatchObject({ code: 'GATEHOUSE_NO_UPSTREAM' })
    expect(Number(second.headers['retry-after'])).toBeGreaterThanOrEqual(1)
  })

  it('sends every request to the first upstream when loadBalancing is false', async () => {
    upstreams = await Promise.all([startUpstream(), startUpstream()])
    app = await gatewayFor(oneService(upstreams.map((upstream) => upstream.url), { loadBalancing: false }))
    await sendGets(app, 6)
    expect(upstreams.map((upstream) => upstream.requests.length)).toEqual([6, 0])
  })
})
