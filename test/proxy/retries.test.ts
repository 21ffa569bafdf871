import { afterEach, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { gatewayFor, oneService } from '../helpers/gateway.js'
import { expectProblem } from '../helpers/problem.js'
import { echoHandler, startUpstream, type TestUpstream, type UpstreamHandler } from '../helpers/upstream.js'

let upstream: TestUpstream | undefined
let app: FastifyInstance | undefined

/** Resets the connection of the first `count` requests that reach it, answers every later one. */
function resetTheFirst (count: number): UpstreamHandler {
  let seen = 0
  return (request, response, body) => {
    if (++seen <= count) {
      request.socket.resetAndDestroy()
      return
    }
    echoHandler(request, response, body)
  }
}

/**
 * Always answers 503, as an overloaded replica would. reply-from retries such GETs up to 10 times by
 * default, honouring Retry-After: 0 makes a regression show up as extra attempts at once.
 */
const alwaysUnavailable: UpstreamHandler = (_request, response) => {
  response.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '0' })
  response.end('overloaded')
}

afterEach(async () => {
  await app?.close()
  await upstream?.close()
  app = upstream = undefined
})

async function gatewayInFrontOf (handler: UpstreamHandler, extra: Record<string, unknown> = {}): Promise<FastifyInstance> {
  upstream = await startUpstream(handler)
  app = await gatewayFor(oneService([upstream.url], extra))
  return app
}

/** Requests that reached the upstream, one per attempt (the upstream records each before answering). */
function attempts (): number {
  return upstream?.requests.length ?? 0
}

describe('retries are off by default', () => {
  it('answers 502 after a single attempt when the upstream resets the connection', async () => {
    const gateway = await gatewayInFrontOf(resetTheFirst(1))
    const response = await gateway.inject({ method: 'GET', url: '/users/1' })
    expectProblem(response, 502, 'GATEHOUSE_UPSTREAM_RESET', [String(upstream?.port)])
    expect(attempts()).toBe(1)
  })
})

describe('with "retries": true', () => {
  it('retries a GET whose first attempt was reset, and answers 200', async () => {
    const gateway = await gatewayInFrontOf(resetTheFirst(1), { retries: true })
    const response = await gateway.inject({ method: 'GET', url: '/users/1?page=2' })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toMatchObject({ method: 'GET', url: '/1?page=2' })
    expect(attempts()).toBe(2)
  })

  it('never retries a POST: the body was consumed and the upstream may have acted on it', async () => {
    const gateway = await gatewayInFrontOf(resetTheFirst(1), { retries: true })
    const response = await gateway.inject({ method: 'POST', url: '/users', payload: { name: 'ada' } })
    expectProblem(response, 502, 'GATEHOUSE_UPSTREAM_RESET', [String(upstream?.port)])
    expect(attempts()).toBe(1)
  })

  it('gives up after the configured number of extra attempts', async () => {
    const gateway = await gatewayInFrontOf(resetTheFirst(Infinity), { retries: { attempts: 3 } })
    const response = await gateway.inject({ method: 'GET', url: '/users/1' })
    expectProblem(response, 502, 'GATEHOUSE_UPSTREAM_RESET', [String(upstream?.port)])
    expect(attempts()).toBe(4)
  })
})

describe('an upstream 503 answer', () => {
  it.each([
    ['retries are off', {}],
    ['"retries": true', { retries: true }]
  ])('is passed through as 503 after exactly one attempt when %s', async (_when, extra) => {
    const gateway = await gatewayInFrontOf(alwaysUnavailable, extra)
    const response = await gateway.inject({ method: 'GET', url: '/users/1' })
    expect(response.statusCode).toBe(503)
    expect(response.body).toBe('overloaded')
    expect(attempts()).toBe(1)
  })
})

describe('retries with several replicas', () => {
  let replicas: TestUpstream[] = []

  afterEach(async () => {
    await Promise.all(replicas.map((replica) => replica.close()))
    replicas = []
  })

  it('go to another replica than the one that failed', async () => {
    replicas = await Promise.all([startUpstream(resetTheFirst(Infinity)), startUpstream()])
    app = await gatewayFor(oneService(replicas.map((replica) => replica.url), { retries: true }))
    for (let index = 0; index < 4; index++) {
      const response = await app.inject({ method: 'GET', url: `/users/${index}` })
      expect(response.statusCode).toBe(200)
    }
    // Round-robin sends every other request to the resetting replica first; each of those is retried on the other.
    expect(replicas[0]?.requests).toHaveLength(2)
    expect(replicas[1]?.requests).toHaveLength(4)
  })

  it('stop when the retry budget is spent, so a failing fleet is not hit with a retry storm', async () => {
    replicas = await Promise.all([startUpstream(resetTheFirst(Infinity)), startUpstream(resetTheFirst(Infinity))])
    app = await gatewayFor(oneService(replicas.map((replica) => replica.url), { retries: { attempts: 1, budgetPercent: 20 } }))
    const statuses: number[] = []
    for (let index = 0; index < 30; index++) statuses.push((await app.inject({ method: 'GET', url: `/users/${index}` })).statusCode)
    expect(statuses.every((status) => status === 502)).toBe(true)
    const total = (replicas[0]?.requests.length ?? 0) + (replicas[1]?.requests.length ?? 0)
    // 30 first attempts and at most max(3, 20 % of 30) = 6 retries.
    expect(total).toBe(36)
  })
})
