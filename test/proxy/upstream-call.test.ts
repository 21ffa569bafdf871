/**
 * What the gateway's own upstream call (src/proxy/forward.ts) does that @fastify/reply-from and
 * @fastify/http-proxy's header rewrite did before it: Location mapped below the service prefix, a bad
 * header value refused, paths written as a URL writes them.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import type { RunningGateway } from '../../src/server.js'
import { mapLocation } from '../../src/proxy/headers.js'
import { sendRequest } from '../helpers/client.js'
import { gatewayFor, listeningGatewayFor } from '../helpers/gateway.js'
import { startRawUpstream, type RawUpstream } from '../helpers/misbehaving-upstream.js'
import { expectProblem } from '../helpers/problem.js'
import { startUpstream, type TestUpstream } from '../helpers/upstream.js'

let app: FastifyInstance | undefined
let gateway: RunningGateway | undefined
let upstream: TestUpstream | undefined
let raw: RawUpstream | undefined

afterEach(async () => {
  await app?.close()
  await gateway?.close()
  await upstream?.close()
  await raw?.close()
  app = gateway = upstream = raw = undefined
})

describe('mapLocation', () => {
  const underUsers = { upstream: '', client: '/users' }
  const underApi = { upstream: '/api/v1', client: '/users' }

  it.each([
    ['/42', underUsers, '/users/42'],
    ['/', underUsers, '/users/'],
    ['/42?x=1#top', underUsers, '/users/42?x=1#top'],
    ['/api/v1/42', underApi, '/users/42'],
    ['/api/v1', underApi, '/users'],
    ['/api/v1?page=2', underApi, '/users?page=2'],
    ['/api/v1#top', underApi, '/users#top'],
    ['/api/v1/', { upstream: '/api/v1', client: '' }, '/'],
    ['/api/v1', { upstream: '/api/v1', client: '' }, '/']
  ])('maps %s from the upstream\'s paths to the client\'s', (location, mapping, expected) => {
    expect(mapLocation(location, mapping)).toBe(expected)
  })

  it.each([
    ['https://login.example.com/next', 'an absolute URL'],
    ['//login.example.com/next', 'a scheme-relative URL (@fastify/http-proxy made it /users//login.example.com/next)'],
    ['next', 'a relative reference: it resolves against the client\'s URL, which has the prefix already'],
    ['/api/v10/42', 'a path that only starts with the same characters'],
    ['/other/api/v1', 'a path outside the upstream\'s space (@fastify/http-proxy replaced the first match anywhere)']
  ])('leaves %s alone: %s', (location) => {
    expect(mapLocation(location, underApi)).toBe(location)
  })
})

describe('an upstream redirect', () => {
  const redirectTo = (location: string) => async (): Promise<TestUpstream> => startUpstream((_request, response) => {
    response.writeHead(302, { location, 'content-length': 0 })
    response.end()
  })

  it('to a path in its own space reaches the client below the service prefix', async () => {
    upstream = await redirectTo('/api/v1/orders/7')()
    app = await gatewayFor({ services: [{ name: 'shop', prefix: '/shop', rewritePrefix: '/api/v1', upstreams: [upstream.url] }] })
    const response = await app.inject({ method: 'GET', url: '/shop/checkout' })
    expect(response.statusCode).toBe(302)
    expect(response.headers.location).toBe('/shop/orders/7')
    expect(upstream.requests[0]?.url).toBe('/api/v1/checkout')
  })

  it('to another host keeps its URL', async () => {
    upstream = await redirectTo('//login.example.com/next')()
    app = await gatewayFor({ services: [{ name: 'users', prefix: '/users', upstreams: [upstream.url] }] })
    const response = await app.inject({ method: 'GET', url: '/users/me' })
    expect(response.headers.location).toBe('//login.example.com/next')
  })
})

describe('an upstream header value with a character no header may carry', () => {
  it('is a bad upstream answer: 502, with none of its headers', async () => {
    raw = await startRawUpstream((socket) => {
      socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Note: a\x7fb\r\nContent-Length: 2\r\n\r\nok'))
    })
    gateway = await listeningGatewayFor({ services: [{ name: 'users', prefix: '/users', upstreams: [raw.url] }] })
    const response = await sendRequest(gateway.url, { path: '/users/1' })
    expectProblem({ statusCode: response.status, headers: response.headers, body: response.body }, 502, 'GATEHOUSE_UPSTREAM_BAD_RESPONSE', [String(raw.port)])
    expect(response.headers['x-note']).toBeUndefined()
  })
})

describe('a path with characters a URL path encodes', () => {
  it('reaches the upstream percent-encoded, as a URL writes it, with its query as sent', async () => {
    upstream = await startUpstream()
    gateway = await listeningGatewayFor({ services: [{ name: 'users', prefix: '/users', upstreams: [upstream.url] }] })
    const response = await sendRequest(gateway.url, { path: '/users/a"b{c}^d?q="x"' })
    expect(response.status).toBe(200)
    expect(upstream.requests[0]?.url).toBe('/a%22b%7Bc%7D^d?q="x"')
  })
})
