import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { parseConfig } from '../../src/config/load.js'
import { ConfigInvalidError } from '../../src/errors.js'
import { gatewayFor } from '../helpers/gateway.js'
import { startUpstream, type TestUpstream } from '../helpers/upstream.js'

let upstream: TestUpstream
let app: FastifyInstance | undefined

beforeEach(async () => { upstream = await startUpstream() })
afterEach(async () => {
  await app?.close()
  await upstream.close()
  app = undefined
})

async function statusFrom (remoteAddress: string, url = '/users/1', headers: Record<string, string> = {}): Promise<number> {
  const response = await (app as FastifyInstance).inject({ method: 'GET', url, remoteAddress, headers })
  if (response.statusCode === 403) expect(response.json()).toMatchObject({ code: 'GATEHOUSE_IP_FORBIDDEN', status: 403 })
  return response.statusCode
}

describe('IP allow and deny lists', () => {
  it.each([
    ['10.1.2.3', 403],
    ['::ffff:10.1.2.3', 403],
    ['192.0.2.1', 200],
    ['2001:db8::1', 200]
  ])('answer a client at %s with %i under a gateway deny list of 10.0.0.0/8', async (ip, status) => {
    app = await gatewayFor({ gateway: { ipAccess: { deny: ['10.0.0.0/8'] } }, services: [{ name: 'users', prefix: '/users', upstreams: [upstream.url] }] })
    expect(await statusFrom(ip)).toBe(status)
    expect(upstream.requests).toHaveLength(status === 200 ? 1 : 0)
  })

  it('let a service allow list (IPv6 CIDR) replace the gateway\'s, and a service deny list add to it', async () => {
    app = await gatewayFor({
      gateway: { ipAccess: { allow: ['192.0.2.0/24'], deny: ['192.0.2.66'] } },
      services: [
        { name: 'users', prefix: '/users', upstreams: [upstream.url], ipAccess: { allow: ['2001:db8::/32'], deny: ['2001:db8::bad'] } },
        { name: 'orders', prefix: '/orders', upstreams: [upstream.url] }
      ]
    })
    expect(await statusFrom('2001:db8::5')).toBe(200)
    expect(await statusFrom('2001:db8::bad')).toBe(403)
    expect(await statusFrom('192.0.2.7')).toBe(403)
    expect(await statusFrom('192.0.2.7', '/orders/1')).toBe(200)
    expect(await statusFrom('192.0.2.66', '/orders/1')).toBe(403)
  })

  it('are skipped by a service with ipAccess false', async () => {
    app = await gatewayFor({
      gateway: { ipAccess: { allow: ['192.0.2.0/24'] } },
      services: [{ name: 'users', prefix: '/users', upstreams: [upstream.url], ipAccess: false }]
    })
    expect(await statusFrom('198.51.100.1')).toBe(200)
  })

  it('answer 403 instead of 404 outside every service, and never block the admin endpoints', async () => {
    app = await gatewayFor({ gateway: { ipAccess: { deny: ['10.0.0.0/8'] } }, services: [] })
    expect(await statusFrom('10.0.0.1', '/unknown')).toBe(403)
    expect(await statusFrom('192.0.2.1', '/unknown')).toBe(404)
    expect(await statusFrom('10.0.0.1', '/_gatehouse/healthz')).toBe(200)
  })

  it('judge the client behind a trusted proxy by X-Forwarded-For, and anyone else by the socket', async () => {
    app = await gatewayFor({
      gateway: { trustedProxies: ['127.0.0.1'], ipAccess: { deny: ['10.0.0.0/8'] } },
      services: [{ name: 'users', prefix: '/users', upstreams: [upstream.url] }]
    })
    expect(await statusFrom('127.0.0.1', '/users/1', { 'x-forwarded-for': '10.9.9.9' })).toBe(403)
    expect(await statusFrom('192.0.2.1', '/users/1', { 'x-forwarded-for': '10.9.9.9' })).toBe(200)
  })

  it('refuse to load with an entry that is not an address or CIDR, at its path', async () => {
    const error = await parseConfig({
      gateway: { ipAccess: { allow: ['10.0.0.0/33'] } },
      services: [{ name: 'users', prefix: '/users', upstreams: [], ipAccess: { deny: ['nope'] } }]
    }, { env: {} }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(ConfigInvalidError)
    expect((error as ConfigInvalidError).problems.map((problem) => problem.path)).toEqual([
      'gateway.ipAccess.allow[0]', 'services[0].ipAccess.deny[0]'
    ])
  })
})
