import { afterEach, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import type { LoadBalancingSettings, OutlierDetectionSettings } from '../../src/config/types.js'
import type { Member } from '../../src/upstream/member.js'
import { DOWN_COOLDOWN_MS, UpstreamPool, type PoolOptions } from '../../src/upstream/pool.js'
import { gatewayFor, oneService } from '../helpers/gateway.js'
import { startUpstream, type TestUpstream } from '../helpers/upstream.js'

const A = 'http://a.test:1'
const B = 'http://b.test:2'
const C = 'http://c.test:3'
const D = 'http://d.test:4'

const up = (url: string, weight = 1, backup = false) => ({ url, weight, backup })

function picks (pool: UpstreamPool, count: number, key: string | null = null): Array<string | null> {
  return Array.from({ length: count }, () => pool.pick(key)?.url ?? null)
}

function member (pool: UpstreamPool, url: string): Member {
  return pool.members.find((candidate) => candidate.url === url) as Member
}

let now = 0
const clock = (): number => now

function poolOf (upstreams: Array<ReturnType<typeof up>>, options: PoolOptions = {}): UpstreamPool {
  return new UpstreamPool(upstreams, { now: clock, ...options })
}

const OUTLIER: OutlierDetectionSettings = { consecutiveFailures: 3, baseEjectionTime: 10_000, maxEjectionTime: 25_000, maxEjectionPercent: 50, halfOpenRequests: 1 }

describe('UpstreamPool, round-robin', () => {
  it('goes round-robin over equally weighted upstreams, in configuration order', () => {
    const pool = poolOf([up(A), up(B), up(C)])
    expect(pool.size).toBe(3)
    expect(picks(pool, 7)).toEqual([A, B, C, A, B, C, A])
  })

  it('spreads weights 5/1/1 smoothly as a,a,b,a,c,a,a instead of a burst of five', () => {
    const pool = poolOf([up(A, 5), up(B), up(C)])
    expect(picks(pool, 7)).toEqual([A, A, B, A, C, A, A])
    expect(picks(pool, 7)).toEqual([A, A, B, A, C, A, A])
  })

  it('gives each upstream its weight\'s share of every full cycle', () => {
    const pool = poolOf([up(A, 3), up(B, 2), up(C)])
    const counts = new Map<string | null, number>()
    for (const url of picks(pool, 600)) counts.set(url, (counts.get(url) ?? 0) + 1)
    expect(Object.fromEntries(counts)).toEqual({ [A]: 300, [B]: 200, [C]: 100 })
  })

  it('uses backups only while no primary is available', () => {
    now = 1_000
    const pool = poolOf([up(A), up(B), up(C, 1, true)])
    expect(picks(pool, 4)).toEqual([A, B, A, B])
    pool.failed(member(pool, A), true)
    pool.failed(member(pool, B), true)
    expect(picks(pool, 2)).toEqual([C, C])
    now += DOWN_COOLDOWN_MS
    expect(picks(pool, 2).sort()).toEqual([A, B])
  })
})

describe('UpstreamPool, least-request', () => {
  const leastRequest: LoadBalancingSettings = { strategy: 'least-request', hashOn: null, slowStart: 0 }

  it('sends the next request to the less busy of two candidates, by in-flight requests per weight', () => {
    const pool = poolOf([up(A), up(B)], { balancing: leastRequest })
    pool.started(member(pool, A))
    pool.started(member(pool, A))
    expect(picks(pool, 5)).toEqual([B, B, B, B, B])
    pool.started(member(pool, B))
    pool.started(member(pool, B))
    pool.started(member(pool, B))
    expect(pool.pick()?.url).toBe(A)
  })

  it('keeps a busy replica\'s share low under load', () => {
    const pool = poolOf([up(A), up(B), up(C)], { balancing: leastRequest })
    // A is slow: each request it takes stays in flight; B and C answer at once.
    const counts = new Map<string, number>()
    for (let index = 0; index < 300; index++) {
      const chosen = pool.pick() as Member
      counts.set(chosen.url, (counts.get(chosen.url) ?? 0) + 1)
      const probe = pool.started(chosen)
      if (chosen.url !== A) pool.finished(chosen, probe)
    }
    expect(counts.get(A) ?? 0).toBeLessThan(20)
  })
})

describe('UpstreamPool, consistent hashing', () => {
  const hashing: LoadBalancingSettings = { strategy: 'consistent-hash', hashOn: 'ip', slowStart: 0 }
  const keys = Array.from({ length: 2000 }, (_, index) => `client-${index}`)

  function assignment (pool: UpstreamPool): Map<string, string> {
    return new Map(keys.map((key) => [key, (pool.pick(key) as Member).url]))
  }

  it('sends a key to the same replica every time, spread evenly, falling back to round-robin without a key', () => {
    const pool = poolOf([up(A), up(B), up(C)], { balancing: hashing })
    const first = assignment(pool)
    expect(assignment(pool)).toEqual(first)
    const shares = [A, B, C].map((url) => [...first.values()].filter((chosen) => chosen === url).length)
    for (const share of shares) expect(share).toBeGreaterThan(550)
    expect(picks(pool, 3)).toEqual([A, B, C])
  })

  it('moves only the added replica\'s share when one is added, and only the lost one\'s when one goes', () => {
    const before = assignment(poolOf([up(A), up(B), up(C)], { balancing: hashing }))
    const after = assignment(poolOf([up(A), up(B), up(C), up(D)], { balancing: hashing }))
    const moved = keys.filter((key) => before.get(key) !== after.get(key))
    expect(moved.every((key) => after.get(key) === D)).toBe(true)
    expect(moved.length / keys.length).toBeGreaterThan(0.15)
    expect(moved.length / keys.length).toBeLessThan(0.35)
    now = 1_000
    const pool = poolOf([up(A), up(B), up(C)], { balancing: hashing })
    pool.failed(member(pool, B), true)
    const without = assignment(pool)
    for (const key of keys) if (before.get(key) !== B) expect(without.get(key)).toBe(before.get(key))
  })

  it('honours weights', () => {
    const counts = [...assignment(poolOf([up(A, 3), up(B, 1)], { balancing: hashing })).values()].filter((url) => url === A).length
    expect(counts / keys.length).toBeGreaterThan(0.7)
    expect(counts / keys.length).toBeLessThan(0.8)
  })
})

describe('UpstreamPool, availability', () => {
  it('skips an upstream that refused a connection until its cooldown ends, or it answers', () => {
    now = 1_000
    const pool = poolOf([up(A), up(B)])
    pool.failed(member(pool, A), true)
    expect(picks(pool, 4)).toEqual([B, B, B, B])
    now += DOWN_COOLDOWN_MS
    expect(picks(pool, 4).sort()).toEqual([A, A, B, B])
    pool.failed(member(pool, A), true)
    pool.succeeded(member(pool, A))
    expect(picks(pool, 2).sort()).toEqual([A, B])
  })

  it('says how long until a retry when every upstream is down, and 0 otherwise', () => {
    now = 1_000
    const pool = poolOf([up(A), up(B)])
    expect(pool.allDownFor()).toBe(0)
    pool.failed(member(pool, A), true)
    expect(pool.allDownFor()).toBe(0)
    now += 200
    pool.failed(member(pool, B), true)
    expect(pool.allDownFor()).toBe(DOWN_COOLDOWN_MS - 200)
    expect(pool.pick()).toBeNull()
    now += DOWN_COOLDOWN_MS
    expect(pool.allDownFor()).toBe(0)
  })

  it('never picks a replica this request already failed on', () => {
    const pool = poolOf([up(A), up(B)])
    expect(pool.pick(null, [member(pool, A)])?.url).toBe(B)
    expect(pool.pick(null, [member(pool, A), member(pool, B)])).toBeNull()
  })
})

describe('UpstreamPool, outlier detection (a circuit breaker per replica)', () => {
  it('ejects after consecutive failures, for base × times ejected up to the max, then probes it half-open', () => {
    now = 0
    const changes: string[] = []
    const pool = poolOf([up(A), up(B), up(C), up(D)], { outlier: OUTLIER, onStateChange: (m, state) => changes.push(`${m.url} ${state}`) })
    const a = member(pool, A)
    pool.failed(a, false)
    pool.failed(a, false)
    pool.succeeded(a)
    pool.failed(a, false)
    pool.failed(a, false)
    expect(a.state(now)).toBe('up')
    pool.failed(a, false)
    expect(a.state(now)).toBe('ejected')
    expect(changes).toEqual([`${A} ejected`])
    expect(picks(pool, 6)).not.toContain(A)
    now += 10_000
    // Half-open: one probe at a time.
    expect(a.state(now)).toBe('half-open')
    const probe = pool.pick(null, [member(pool, B), member(pool, C), member(pool, D)])
    expect(probe).toBe(a)
    expect(pool.started(a)).toBe(true)
    expect(pool.pick(null, [member(pool, B), member(pool, C), member(pool, D)])).toBeNull()
    // A request started before the ejection ends: it was no probe, and frees no probe slot.
    pool.finished(a, false)
    expect(pool.pick(null, [member(pool, B), member(pool, C), member(pool, D)])).toBeNull()
    // The probe fails: ejected again, for twice as long.
    pool.finished(a, true)
    pool.failed(a, false)
    expect(a.ejectedUntil - now).toBe(20_000)
    now += 20_000
    pool.pick(null, [member(pool, B), member(pool, C), member(pool, D)])
    pool.finished(a, pool.started(a))
    pool.failed(a, false)
    expect(a.ejectedUntil - now).toBe(25_000)
    now += 25_000
    const again = pool.pick(null, [member(pool, B), member(pool, C), member(pool, D)]) as Member
    const isProbe = pool.started(again)
    pool.succeeded(again)
    pool.finished(again, isProbe)
    expect(a.state(now)).toBe('up')
    expect(changes.at(-1)).toBe(`${A} up`)
  })

  it('never ejects more than maxEjectionPercent of the replicas (but always one)', () => {
    now = 0
    const pool = poolOf([up(A), up(B), up(C), up(D)], { outlier: OUTLIER })
    for (const url of [A, B, C]) for (let index = 0; index < 3; index++) pool.failed(member(pool, url), false)
    expect([A, B, C, D].map((url) => member(pool, url).state(now))).toEqual(['ejected', 'ejected', 'up', 'up'])
    const single = poolOf([up(A)], { outlier: { ...OUTLIER, maxEjectionPercent: 0 } })
    for (let index = 0; index < 3; index++) single.failed(member(single, A), false)
    expect(member(single, A).state(now)).toBe('ejected')
  })

  it('ramps a recovered replica up over the slow-start window', () => {
    now = 0
    const pool = poolOf([up(A), up(B)], { outlier: OUTLIER, balancing: { strategy: 'round-robin', hashOn: null, slowStart: 10_000 } })
    const a = member(pool, A)
    for (let index = 0; index < 3; index++) pool.failed(a, false)
    now += 10_000
    const probe = pool.pick(null, [member(pool, B)]) as Member
    const isProbe = pool.started(probe)
    pool.succeeded(probe)
    pool.finished(probe, isProbe)
    const share = (count: number): number => picks(pool, count).filter((url) => url === A).length / count
    expect(share(200)).toBeLessThan(0.2)
    now += 5_000
    expect(share(200)).toBeGreaterThan(0.25)
    expect(share(200)).toBeLessThan(0.4)
    now += 5_000
    expect(share(200)).toBeCloseTo(0.5, 1)
  })
})

describe('UpstreamPool, active health checks', () => {
  it('takes a replica out after unhealthyThreshold failed checks and back after healthyThreshold passes', () => {
    now = 0
    const pool = poolOf([up(A), up(B)])
    const a = member(pool, A)
    pool.checked(a, false, 2, 3)
    pool.checked(a, false, 2, 3)
    expect(a.state(now)).toBe('up')
    pool.checked(a, false, 2, 3)
    expect(a.state(now)).toBe('unhealthy')
    expect(picks(pool, 3)).toEqual([B, B, B])
    pool.checked(a, true, 2, 3)
    expect(a.state(now)).toBe('unhealthy')
    pool.checked(a, true, 2, 3)
    expect(a.state(now)).toBe('up')
  })

  it('lets one passing check end an ejection', () => {
    now = 0
    const pool = poolOf([up(A), up(B)], { outlier: OUTLIER })
    const a = member(pool, A)
    for (let index = 0; index < 3; index++) pool.failed(a, false)
    expect(a.state(now)).toBe('ejected')
    pool.checked(a, true, 2, 3)
    expect(a.state(now)).toBe('up')
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
