import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { gatewayFor } from '../helpers/gateway.js'
import { startUpstream, type TestUpstream } from '../helpers/upstream.js'

describe('prefix routing', () => {
  let users: TestUpstream
  let admins: TestUpstream
  let app: FastifyInstance

  beforeEach(async () => {
    users = await startUpstream()
    admins = await startUpstream()
    app = await gatewayFor({
      services: [
        { name: 'users', prefix: '/users', upstreams: [users.url] },
        { name: 'user-admin', prefix: '/users/admin', upstreams: [admins.url] }
      ]
    })
  })

  afterEach(async () => {
    await app.close()
    await users.close()
    await admins.close()
  })

  it.each([
    ['/users', '/'],
    ['/users/', '/'],
    ['/users/42', '/42'],
    ['/users/42/orders?limit=5', '/42/orders?limit=5']
  ])('routes %s to the users upstream as %s', async (path, upstreamPath) => {
    const response = await app.inject({ method: 'GET', url: path })
    expect(response.statusCode).toBe(200)
    expect(users.requests.map((request) => request.url)).toEqual([upstreamPath])
  })

  it('never matches a prefix inside a longer segment (/usersX)', async () => {
    const response = await app.inject({ method: 'GET', url: '/usersX' })
    expect(response.statusCode).toBe(404)
    expect(response.headers['content-type']).toContain('application/problem+json')
    expect(response.json()).toMatchObject({ status: 404, code: 'GATEHOUSE_NOT_FOUND' })
    expect(users.requests).toHaveLength(0)
  })

  it('sends a path to the longest matching prefix', async () => {
    await app.inject({ method: 'GET', url: '/users/admin/settings' })
    await app.inject({ method: 'GET', url: '/users/administrator' })
    expect(admins.requests.map((request) => request.url)).toEqual(['/settings'])
    expect(users.requests.map((request) => request.url)).toEqual(['/administrator'])
  })

  it('passes query strings through byte for byte', async () => {
    const query = '?a=1&a=2&b=%20x+y&empty=&flag&utf=%C3%A9&plus=1%2B1'
    await app.inject({ method: 'GET', url: `/users/search${query}` })
    expect(users.requests[0]?.url).toBe(`/search${query}`)
  })

  it('answers unknown paths with a 404 problem', async () => {
    const response = await app.inject({ method: 'GET', url: '/nothing/here' })
    expect(response.statusCode).toBe(404)
    expect(response.json()).toMatchObject({ code: 'GATEHOUSE_NOT_FOUND', requestId: expect.any(String) })
  })

  it('maps paths onto a rewritePrefix, and keeps a destination on the upstream\'s origin', async () => {
    const orders = await startUpstream()
    const rewriting = await gatewayFor({
      services: [{ name: 'orders', prefix: '/orders', rewritePrefix: '/v1/orders', upstreams: [orders.url] }]
    })
    try {
      const answers: Array<[string, number]> = []
      for (const path of ['/orders', '/orders/', '/orders/9?x=1&flag', '/orders//evil.example/x', '/orders/a%20b', '/orders/x?next=//evil.example']) {
        answers.push([path, (await rewriting.inject({ method: 'GET', url: path })).statusCode])
      }
      expect(answers).toEqual([
        ['/orders', 200], ['/orders/', 200], ['/orders/9?x=1&flag', 200], ['/orders//evil.example/x', 200],
        ['/orders/a%20b', 200], ['/orders/x?next=//evil.example', 200]
      ])
      expect(orders.requests.map((request) => request.url)).toEqual([
        '/v1/orders', '/v1/orders/', '/v1/orders/9?x=1&flag', '/v1/orders//evil.example/x', '/v1/orders/a%20b', '/v1/orders/x?next=//evil.example'
      ])
    } finally {
      await rewriting.close()
      await orders.close()
    }
  })

  it('maps every path of a root service, and refuses one that reads as another host', async () => {
    const web = await startUpstream()
    const root = await gatewayFor({ services: [{ name: 'web', prefix: '/', upstreams: [web.url] }] })
    try {
      const statuses: Array<[string, number]> = []
      for (const path of ['/', '/a/b?c=1&flag', '//evil.example/x', '/x%20y']) {
        statuses.push([path, (await root.inject({ method: 'GET', url: path })).statusCode])
      }
      expect(statuses).toEqual([['/', 200], ['/a/b?c=1&flag', 200], ['//evil.example/x', 400], ['/x%20y', 200]])
      expect(web.requests.map((request) => request.url)).toEqual(['/', '/a/b?c=1&flag', '/x%20y'])
    } finally {
      await root.close()
      await web.close()
    }
  })

  it('refuses a destination that would leave the upstream\'s origin', async () => {
    for (const path of ['/users//evil.example/x', '/users/%2F%2Fevil.example']) {
      const response = await app.inject({ method: 'GET', url: path })
      expect([path, response.statusCode, response.headers['content-type']]).toEqual([path, 400, expect.stringContaining('application/problem+json')])
    }
    expect(users.requests).toHaveLength(0)
  })

  it('forwards every method with its body', async () => {
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'] as const) {
      const response = await app.inject({ method, url: '/users/1', payload: { name: 'ada' } })
      expect(response.statusCode).toBe(200)
    }
    expect(users.requests.map((request) => [request.method, request.bodyBytes])).toEqual([
      ['POST', 14], ['PUT', 14], ['PATCH', 14], ['DELETE', 14]
    ])
  })
})
