/**
 * The pool through a real gateway and real replicas (issue 5): outlier ejection, active health checks,
 * the strategies, backups, the pending-request cap and the admin view.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { gatewayFor, oneService } from '../helpers/gateway.js'
import { echoHandler, startUpstream, type TestUpstream, type UpstreamHandler } from '../helpers/upstream.js'

let replicas: TestUpstream[] = []
let app: FastifyInstance | undefined

afterEach(async () => {
  await app?.close()
  await Promise.all(replicas.map((replica) => replica.close()))
  replicas = []
  app = undefined
})

const failing: UpstreamHandler = (_request, response) => {
  response.writeHead(500, { 'content-type': 'text/plain' }).end('broken')
}

/** Answers after `ms` milliseconds. */
function slow (ms: number): UpstreamHandler {
  return (request, response, body) => { setTimeout(() => echoHandler(request, response, body), ms) }
}

async function upstreamsStatus (gateway: FastifyInstance): Promise<Array<{ url: string, state: string, failures: number, ejections: number, inflight: number }>> {
  const { services } = (await gateway.inject('/_gatehouse/upstreams')).json<{ services: Array<{ upstreams: Array<{ url: string, state: string, failures: number, ejections: number, inflight: number }> }> }>()
  return services[0]?.upstreams ?? []
}

const until = async (condition: () => Promise<boolean> | boolean, timeoutMs = 3_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('passive outlier detection', () => {
  it('ejects a replica that keeps answering 5xx, and says so at /_gatehouse/upstreams', async () => {
    replicas = await Promise.all([startUpstream(failing), startUpstream(), startUpstream()])
    app = await gatewayFor(oneService(replicas.map((replica) => replica.url), { outlierDetection: { consecutiveFailures: 3, baseEjectionTime: 60_000 } }))
    const statuses: number[] = []
    for (let index = 0; index < 30; index++) statuses.push((await app.inject(`/users/${index}`)).statusCode)
    // Round-robin gave the broken replica every third request until its third failure.
    expect(statuses.filter((status) => status === 500)).toHaveLength(3)
    expect(replicas[0]?.requests).toHaveLength(3)
    const [broken, ...healthy] = await upstreamsStatus(app)
    expect(broken).toMatchObject({ url: replicas[0]?.url, state: 'ejected', failures: 3, ejections: 1 })
    for (const replica of healthy) expect(replica).toMatchObject({ state: 'up', failures: 0, inflight: 0 })
  })

  it('ejects a replica that hangs, once its requests time out', async () => {
    const hanging: UpstreamHandler = () => {}
    replicas = await Promise.all([startUpstream(hanging), startUpstream()])
    app = await gatewayFor(oneService(replicas.map((replica) => replica.url), {
      timeouts: { responseHeaders: 100 }, outlierDetection: { consecutiveFailures: 2 }
    }))
    const statuses = await Promise.all(Array.from({ length: 10 }, async (_, index) => (await app?.inject(`/users/${index}`))?.statusCode))
    expect(statuses.filter((status) => status === 504)).toHaveLength(5)
    const after = []
    for (let index = 0; index < 10; index++) after.push((await app.inject(`/users/${index}`)).statusCode)
    expect(after).toEqual(Array(10).fill(200))
    expect((await upstreamsStatus(app))[0]?.state).toBe('ejected')
  })
})

describe('active health checks', () => {
  it('take a replica out while its health path fails, and put it back when it passes', async () => {
    let healthy = true
    const withHealth: UpstreamHandler = (request, response, body) => {
      if (request.url === '/health') {
        response.writeHead(healthy ? 200 : 503).end()
        return
      }
      echoHandler(request, response, body)
    }
    replicas = await Promise.all([startUpstream(withHealth), startUpstream(withHealth)])
    app = await gatewayFor(oneService(replicas.map((replica) => replica.url), {
      healthCheck: { path: '/health', interval: 30, timeout: 500, healthyThreshold: 2, unhealthyThreshold: 2 }
    }))
    await until(() => (replicas[0]?.requests.filter((request) => request.url === '/health').length ?? 0) >= 2)
    healthy = false
    await until(async () => (await upstreamsStatus(app as FastifyInstance)).every((replica) => replica.state === 'unhealthy'))
    const down = await app.inject('/users/1')
    expect(down.statusCode).toBe(503)
    expect(down.json()).toMatchObject({ code: 'GATEHOUSE_NO_UPSTREAM' })
    expect(Number(down.headers['retry-after'])).toBeGreaterThanOrEqual(1)
    healthy = true
    await until(async () => (await upstreamsStatus(app as FastifyInstance)).every((replica) => replica.state === 'up'))
    expect((await app.inject('/users/1')).statusCode).toBe(200)
    const checks = replicas[0]?.requests.filter((request) => request.url === '/health') ?? []
    expect(checks[0]?.headers['user-agent']).toBe('gatehouse-health-check')
  })
})

describe('strategies through the gateway', () => {
  it('consistent-hash sends every request with the same header value to the same replica', async () => {
    replicas = await Promise.all([startUpstream(), startUpstream(), startUpstream()])
    app = await gatewayFor(oneService(replicas.map((replica) => replica.url), { loadBalancing: { strategy: 'consistent-hash', hashOn: { header: 'x-tenant' } } }))
    const landing = new Map<string, Set<number>>()
    for (let round = 0; round < 5; round++) {
      for (const tenant of ['acme', 'globex', 'initech', 'umbrella', 'hooli', 'stark']) {
        const before = replicas.map((replica) => replica.requests.length)
        await app.inject({ url: '/users/1', headers: { 'x-tenant': tenant } })
        const index = replicas.findIndex((replica, at) => replica.requests.length > (before[at] as number))
        landing.set(tenant, (landing.get(tenant) ?? new Set()).add(index))
      }
    }
    for (const replicasOfTenant of landing.values()) expect(replicasOfTenant.size).toBe(1)
    expect(new Set([...landing.values()].map((set) => [...set][0])).size).toBeGreaterThan(1)
  })

  it('least-request keeps a slow replica\'s share small under steady concurrent load', async () => {
    replicas = await Promise.all([startUpstream(slow(100)), startUpstream(), startUpstream()])
    app = await gatewayFor(oneService(replicas.map((replica) => replica.url), { loadBalancing: { strategy: 'least-request' } }))
    const gateway = app
    const deadline = Date.now() + 800
    // Eight clients, each sending its next request as soon as the last one is answered.
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (Date.now() < deadline) await gateway.inject('/users/1')
    }))
    const [slowReplica, ...fast] = replicas.map((replica) => replica.requests.length)
    const total = (slowReplica as number) + fast.reduce((sum, count) => sum + count, 0)
    expect((slowReplica as number) / total).toBeLessThan(0.1)
  })

  it('sends requests to a backup only while the primaries are down', async () => {
    replicas = await Promise.all([startUpstream(), startUpstream()])
    const [primary, backup] = replicas as [TestUpstream, TestUpstream]
    app = await gatewayFor({ services: [{ name: 'users', prefix: '/users', upstreams: [primary.url, { url: backup.url, backup: true }], retries: true }] })
    for (let index = 0; index < 3; index++) expect((await app.inject('/users/1')).statusCode).toBe(200)
    expect(backup.requests).toHaveLength(0)
    await primary.close()
    for (let index = 0; index < 3; index++) expect((await app.inject('/users/1')).statusCode).toBe(200)
    expect(backup.requests).toHaveLength(3)
  })
})

describe('the pending-request cap', () => {
  it('answers 503 with Retry-After at once past maxPendingRequests', async () => {
    replicas = [await startUpstream(slow(200))]
    app = await gatewayFor(oneService([replicas[0]?.url ?? ''], { maxPendingRequests: 2 }))
    const answers = await Promise.all(Array.from({ length: 4 }, async (_, index) => app?.inject(`/users/${index}`)))
    const statuses = answers.map((answer) => answer?.statusCode).sort()
    expect(statuses).toEqual([200, 200, 503, 503])
    const refused = answers.find((answer) => answer?.statusCode === 503)
    expect(refused?.headers['retry-after']).toBe('1')
    expect(replicas[0]?.requests).toHaveLength(2)
  })
})
