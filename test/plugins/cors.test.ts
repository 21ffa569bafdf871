import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify'
import fastifyCors from '@fastify/cors'
import httpProxy from '@fastify/http-proxy'
import { loadConfig } from '../../src/config/load.js'
import { buildGateway } from '../../src/gateway.js'
import { gatewayFor, oneService } from '../helpers/gateway.js'
import { expectProblem } from '../helpers/problem.js'
import { writeServicesFile, type TempServicesFile } from '../helpers/services-file.js'
import { echoHandler, startUpstream, type TestUpstream } from '../helpers/upstream.js'

const APP = 'https://app.example.com'
const OTHER = 'https://evil.example.net'

let upstream: TestUpstream
let app: FastifyInstance | undefined

beforeEach(async () => { upstream = await startUpstream() })
afterEach(async () => {
  await app?.close()
  await upstream.close()
  app = undefined
})

async function usersWithCors (cors: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<FastifyInstance> {
  app = await gatewayFor(oneService([upstream.url], { cors, ...extra }))
  return app
}

function preflight (gateway: FastifyInstance, origin: string, url = '/users/1', headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return gateway.inject({ method: 'OPTIONS', url, headers: { origin, 'access-control-request-method': 'PUT', ...headers } })
}

function corsHeadersOf (response: LightMyRequestResponse): Record<string, unknown> {
  return Object.fromEntries(Object.entries(response.headers).filter(([name]) => name.startsWith('access-control-')))
}

describe('a preflight', () => {
  it('is answered 204 by the gateway, with the service\'s methods, headers and max age, and never reaches the upstream', async () => {
    const gateway = await usersWithCors({ origins: [APP], methods: ['GET', 'PUT'], allowedHeaders: ['Authorization', 'Content-Type'], credentials: true, maxAge: 600 })
    const response = await preflight(gateway, APP)
    expect(response.statusCode).toBe(204)
    expect(response.headers['content-length']).toBe('0')
    expect(corsHeadersOf(response)).toEqual({
      'access-control-allow-origin': APP,
      'access-control-allow-credentials': 'true',
      'access-control-allow-methods': 'GET, PUT',
      'access-control-allow-headers': 'Authorization, Content-Type',
      'access-control-max-age': '600'
    })
    expect(response.headers.vary).toBe('Origin')
    expect(upstream.requests).toHaveLength(0)
  })

  it('allows the headers it asks for when the service lists none, varying on them', async () => {
    const gateway = await usersWithCors({ origins: [APP] })
    const response = await preflight(gateway, APP, '/users/1', { 'access-control-request-headers': 'x-trace, content-type' })
    expect(response.headers['access-control-allow-headers']).toBe('x-trace, content-type')
    expect(response.headers['access-control-allow-methods']).toBe('GET, HEAD, POST')
    expect(response.headers['access-control-max-age']).toBeUndefined()
    expect(response.headers.vary).toBe('Access-Control-Request-Headers, Origin')
  })

  it('from a disallowed origin is answered without allow headers, still without reaching the upstream', async () => {
    const gateway = await usersWithCors({ origins: [APP], maxAge: 600 })
    const response = await preflight(gateway, OTHER)
    expect(response.statusCode).toBe(204)
    expect(corsHeadersOf(response)).toEqual({})
    expect(response.headers.vary).toBe('Origin')
    expect(upstream.requests).toHaveLength(0)
  })

  it('is answered before the service\'s later policies run (a preflight carries no credentials)', async () => {
    const refuseAll = `
      export default function refuseAll (scope, options, done) {
        scope.addHook('onRequest', function refuse (request, reply, done) { reply.code(401).send({ refused: true }) })
        done()
      }
      refuseAll[Symbol.for('skip-override')] = true
    `
    const file: TempServicesFile = await writeServicesFile(oneService([upstream.url], { cors: { origins: [APP] }, plugins: ['./refuse-all.js'] }), { 'refuse-all.js': refuseAll })
    try {
      app = buildGateway(await loadConfig(file.path, {}), { logger: false })
      expect((await preflight(app, APP)).statusCode).toBe(204)
      const actual = await app.inject({ method: 'GET', url: '/users/1', headers: { origin: APP } })
      expect(actual.statusCode).toBe(401)
      expect(actual.headers['access-control-allow-origin']).toBe(APP)
    } finally {
      await file.remove()
    }
  })

  it('is only answered under the service\'s prefix: /usersX stays a 404 with no CORS headers', async () => {
    const gateway = await usersWithCors({ origins: [APP] })
    const response = await preflight(gateway, APP, '/usersX')
    expect(response.statusCode).toBe(404)
    expect(corsHeadersOf(response)).toEqual({})
    expect(upstream.requests).toHaveLength(0)
  })

  it('is answered for a service at "/" too, whose proxy routes cover every OPTIONS path', async () => {
    app = await gatewayFor({ services: [{ name: 'root', prefix: '/', upstreams: [upstream.url], cors: { origins: [APP] } }] })
    expect((await preflight(app, APP, '/anything')).headers['access-control-allow-origin']).toBe(APP)
    expect(upstream.requests).toHaveLength(0)
  })
})

describe('an OPTIONS request that is not a preflight', () => {
  it.each([
    ['an Origin but no Access-Control-Request-Method', { origin: APP }],
    ['no Origin', { 'access-control-request-method': 'PUT' }]
  ])('reaches the upstream when it has %s', async (_case, headers) => {
    const gateway = await usersWithCors({ origins: [APP] })
    const response = await gateway.inject({ method: 'OPTIONS', url: '/users/1', headers })
    expect(response.statusCode).toBe(200)
    expect(upstream.requests).toMatchObject([{ method: 'OPTIONS', url: '/1' }])
  })
})

describe('an actual cross-origin request', () => {
  it('from a listed origin gets that origin back, credentials, the exposed headers and Vary: Origin', async () => {
    const gateway = await usersWithCors({ origins: ['https://other.example.com', APP], exposedHeaders: ['X-Request-Id', 'ETag'], credentials: true })
    const response = await gateway.inject({ method: 'GET', url: '/users/1', headers: { origin: APP } })
    expect(response.statusCode).toBe(200)
    expect(corsHeadersOf(response)).toEqual({
      'access-control-allow-origin': APP,
      'access-control-allow-credentials': 'true',
      'access-control-expose-headers': 'X-Request-Id, ETag'
    })
    expect(response.headers.vary).toBe('Origin')
  })

  it('matches an origin written with upper case or a default port the way browsers send it', async () => {
    const gateway = await usersWithCors({ origins: ['https://App.Example.com:443'] })
    const response = await gateway.inject({ method: 'GET', url: '/users/1', headers: { origin: APP } })
    expect(response.headers['access-control-allow-origin']).toBe(APP)
  })

  it('from an unlisted origin is still proxied, with no CORS headers but Vary: Origin', async () => {
    const gateway = await usersWithCors({ origins: [APP], credentials: true, exposedHeaders: ['ETag'] })
    const response = await gateway.inject({ method: 'GET', url: '/users/1', headers: { origin: OTHER } })
    expect(response.statusCode).toBe(200)
    expect(corsHeadersOf(response)).toEqual({})
    expect(response.headers.vary).toBe('Origin')
    expect(upstream.requests).toHaveLength(1)
  })

  it('without an Origin still says the answer varies on it, so a shared cache keeps the variants apart', async () => {
    const gateway = await usersWithCors({ origins: [APP] })
    const response = await gateway.inject({ method: 'GET', url: '/users/1' })
    expect(corsHeadersOf(response)).toEqual({})
    expect(response.headers.vary).toBe('Origin')
  })

  it('gets "*" from a service open to any origin, with no Vary (the answer does not depend on it)', async () => {
    const gateway = await usersWithCors({ origins: ['*'] })
    const response = await gateway.inject({ method: 'GET', url: '/users/1', headers: { origin: OTHER } })
    expect(corsHeadersOf(response)).toEqual({ 'access-control-allow-origin': '*' })
    expect(response.headers.vary).toBeUndefined()
  })
})

describe('the upstream\'s own CORS headers', () => {
  beforeEach(async () => {
    await upstream.close()
    upstream = await startUpstream((request, response, body) => {
      response.setHeader('access-control-allow-origin', '*')
      response.setHeader('access-control-allow-credentials', 'true')
      response.setHeader('access-control-expose-headers', 'X-Internal')
      response.setHeader('vary', 'Accept-Encoding')
      echoHandler(request, response, body)
    })
  })

  it('give way to the gateway\'s answer, keeping what else the upstream varies on', async () => {
    const gateway = await usersWithCors({ origins: [APP], exposedHeaders: ['ETag'] })
    const response = await gateway.inject({ method: 'GET', url: '/users/1', headers: { origin: APP } })
    expect(corsHeadersOf(response)).toEqual({ 'access-control-allow-origin': APP, 'access-control-expose-headers': 'ETag' })
    expect(response.headers.vary).toBe('Accept-Encoding, Origin')
  })

  it('are dropped for an unlisted origin', async () => {
    const gateway = await usersWithCors({ origins: [APP] })
    const response = await gateway.inject({ method: 'GET', url: '/users/1', headers: { origin: OTHER } })
    expect(corsHeadersOf(response)).toEqual({})
  })

  it('pass through untouched for a service without cors', async () => {
    app = await gatewayFor(oneService([upstream.url]))
    const response = await app.inject({ method: 'GET', url: '/users/1', headers: { origin: OTHER } })
    expect(response.headers['access-control-allow-origin']).toBe('*')
    expect(response.headers.vary).toBe('Accept-Encoding')
  })
})

describe('the gateway\'s own error answers', () => {
  it('carry the CORS headers on a 502, so the browser app can read the problem', async () => {
    const down = upstream.url
    await upstream.close()
    upstream = await startUpstream()
    app = await gatewayFor(oneService([down], { cors: { origins: [APP], credentials: true, exposedHeaders: ['X-Request-Id'] } }))
    const response = await app.inject({ method: 'GET', url: '/users/1', headers: { origin: APP } })
    expectProblem(response, 502, 'GATEHOUSE_UPSTREAM_UNREACHABLE')
    expect(corsHeadersOf(response)).toEqual({
      'access-control-allow-origin': APP,
      'access-control-allow-credentials': 'true',
      'access-control-expose-headers': 'X-Request-Id'
    })
  })

  it('carry them on a 403 from the service\'s IP lists, which run before CORS', async () => {
    const gateway = await usersWithCors({ origins: [APP] }, { ipAccess: { deny: ['192.0.2.0/24'] } })
    const response = await gateway.inject({ method: 'GET', url: '/users/1', remoteAddress: '192.0.2.1', headers: { origin: APP } })
    expectProblem(response, 403, 'GATEHOUSE_IP_FORBIDDEN')
    expect(response.headers['access-control-allow-origin']).toBe(APP)
  })
})

// Why plugins/cors.ts does not register @fastify/cors: its `OPTIONS *` route, which no option removes.
// If these start failing, @fastify/cors has changed and may be usable again.
describe('@fastify/cors beside the proxy in a service scope', () => {
  // Not async: a Fastify instance is thenable, awaiting it boots it.
  function scopeWithCorsAndProxy (prefix: string): FastifyInstance {
    const instance = Fastify()
    instance.register(async (scope) => {
      await scope.register(fastifyCors, { origin: [APP], hideOptionsRoute: true })
      await scope.register(httpProxy, { upstream: upstream.url })
    }, { prefix })
    return instance
  }

  it('answers preflights for /usersX, outside the /users prefix', async () => {
    app = scopeWithCorsAndProxy('/users')
    const response = await preflight(app, APP, '/usersX')
    expect(response.statusCode).toBe(204)
    expect(response.headers['access-control-allow-origin']).toBe(APP)
  })

  it('makes a service at "/" fail to boot: its route duplicates the proxy\'s OPTIONS /*', async () => {
    // Not kept in `app`: an instance that failed to boot rethrows the error from close().
    const instance = scopeWithCorsAndProxy('/')
    await expect(instance.ready()).rejects.toMatchObject({ code: 'FST_ERR_DUPLICATED_ROUTE' })
  })
})
