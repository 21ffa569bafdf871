import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { startUpstream, type TestUpstream } from '../helpers/upstream.js'
import { hsToken } from '../helpers/jwt.js'
import { expectProblem } from '../helpers/problem.js'
import { authGateway, expectRefused, getWithToken } from './auth-gateway.js'

let upstream: TestUpstream
let app: FastifyInstance | undefined

beforeEach(async () => { upstream = await startUpstream() })
afterEach(async () => {
  await app?.close()
  app = undefined
  await upstream.close()
})

function upstreamHeaders (index = 0): Record<string, unknown> {
  return upstream.requests[index]?.headers as Record<string, unknown>
}

describe('authentication', () => {
  it('proxies a request with a valid HS256 token and refuses one without a token', async () => {
    app = await authGateway(upstream.url)
    expect((await getWithToken(app, await hsToken())).statusCode).toBe(200)
    const missing = await getWithToken(app, null)
    expectRefused(missing, 'GATEHOUSE_AUTH_REQUIRED')
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="gatehouse"')
    expect(upstream.requests).toHaveLength(1)
  })

  it('treats another scheme (Basic) as no bearer token', async () => {
    app = await authGateway(upstream.url)
    const response = await app.inject({ url: '/orders/1', headers: { authorization: 'Basic YWxpY2U6c2VjcmV0' } })
    expectRefused(response, 'GATEHOUSE_AUTH_REQUIRED')
    expect(upstream.requests).toHaveLength(0)
  })

  it('says an expired token has expired, with its own code', async () => {
    app = await authGateway(upstream.url, true, { secrets: [{ secret: (await import('../helpers/jwt.js')).HS_SECRET }], clockTolerance: 0 })
    expectRefused(await getWithToken(app, await hsToken({}, { expiresIn: -5 })), 'GATEHOUSE_TOKEN_EXPIRED')
    expect(upstream.requests).toHaveLength(0)
  })

  it('honours the clock tolerance for exp and nbf', async () => {
    app = await authGateway(upstream.url) // default tolerance 30 s
    expect((await getWithToken(app, await hsToken({}, { expiresIn: -10 }))).statusCode).toBe(200)
    expect((await getWithToken(app, await hsToken({ nbf: Math.floor(Date.now() / 1000) + 10 }))).statusCode).toBe(200)
    expectRefused(await getWithToken(app, await hsToken({ nbf: Math.floor(Date.now() / 1000) + 120 })))
  })

  it('in optional mode lets anonymous calls through but still refuses a bad token', async () => {
    app = await authGateway(upstream.url, { mode: 'optional' })
    expect((await getWithToken(app, null)).statusCode).toBe(200)
    expect(upstreamHeaders(0)['x-user-id']).toBeUndefined()
    expectRefused(await getWithToken(app, await hsToken({}, { secret: 'another-secret-that-is-at-least-32-bytes' })))
    expect((await getWithToken(app, await hsToken({ sub: 'bob' }))).statusCode).toBe(200)
    expect(upstreamHeaders(1)['x-user-id']).toBe('bob')
  })

  it('skips auth on public routes (path and method), and only there', async () => {
    app = await authGateway(upstream.url, { public: [{ path: '/health', methods: ['GET'] }, { path: '/docs/*' }] })
    expect((await app.inject({ url: '/orders/health' })).statusCode).toBe(200)
    expect((await app.inject({ url: '/orders/health?verbose=1' })).statusCode).toBe(200)
    expect((await app.inject({ url: '/orders/docs' })).statusCode).toBe(200)
    expect((await app.inject({ url: '/orders/docs/api/v1' })).statusCode).toBe(200)
    expect((await app.inject({ method: 'POST', url: '/orders/health' })).statusCode).toBe(401)
    expect((await app.inject({ url: '/orders/healthz' })).statusCode).toBe(401)
    expect((await app.inject({ url: '/orders/docsX' })).statusCode).toBe(401)
    expect((await app.inject({ url: '/orders/1' })).statusCode).toBe(401)
    expect(upstream.requests).toHaveLength(4)
  })

  it('leaves services without auth open, and a service with auth does not leak to its sibling', async () => {
    const { configFor } = await import('../helpers/gateway.js')
    const { buildGateway } = await import('../../src/gateway.js')
    const { HS_KEYS } = await import('./auth-gateway.js')
    app = buildGateway(await configFor({
      gateway: { auth: HS_KEYS },
      services: [
        { name: 'orders', prefix: '/orders', upstreams: [upstream.url], auth: true },
        { name: 'users', prefix: '/users', upstreams: [upstream.url] }
      ]
    }), { logger: false })
    expect((await app.inject({ url: '/users/1' })).statusCode).toBe(200)
    expect((await app.inject({ url: '/orders/1' })).statusCode).toBe(401)
  })
})

describe('authorization', () => {
  it('requires every service scope, from `scope` or `scp`', async () => {
    app = await authGateway(upstream.url, { scopes: ['orders:read', 'orders:list'] })
    expect((await getWithToken(app, await hsToken({ scope: 'orders:read orders:list profile' }))).statusCode).toBe(200)
    expect((await getWithToken(app, await hsToken({ scp: ['orders:list', 'orders:read'] }))).statusCode).toBe(200)
    const partial = await getWithToken(app, await hsToken({ scope: 'orders:read' }))
    expectProblem({ statusCode: partial.statusCode, headers: partial.headers, body: partial.body }, 403, 'GATEHOUSE_INSUFFICIENT_SCOPE')
    expect(partial.headers['www-authenticate']).toBe('Bearer realm="gatehouse", error="insufficient_scope"')
    expect(upstream.requests).toHaveLength(2)
  })

  it('applies per-route rules by path and method, and claim matches', async () => {
    app = await authGateway(upstream.url, {
      claims: { tenant: ['acme', 'globex'] },
      rules: [
        { path: '/admin/*', scopes: ['orders:admin'] },
        { path: '/*', methods: ['DELETE'], scopes: ['orders:write'], claims: { role: 'owner' } }
      ]
    })
    const reader = await hsToken({ tenant: 'acme' })
    const admin = await hsToken({ tenant: 'globex', scope: 'orders:admin' })
    const owner = await hsToken({ tenant: 'acme', scope: 'orders:write', role: ['staff', 'owner'] })
    expect((await getWithToken(app, reader)).statusCode).toBe(200)
    expect((await getWithToken(app, await hsToken({ tenant: 'initech' }))).statusCode).toBe(403)
    expect((await getWithToken(app, await hsToken({}))).statusCode).toBe(403)
    expect((await getWithToken(app, reader, '/orders/admin/stats')).statusCode).toBe(403)
    expect((await getWithToken(app, admin, '/orders/admin/stats')).statusCode).toBe(200)
    expect((await getWithToken(app, admin, '/orders/admin')).statusCode).toBe(200)
    expect((await getWithToken(app, admin, '/orders/1', 'DELETE')).statusCode).toBe(403)
    expect((await getWithToken(app, owner, '/orders/1', 'DELETE')).statusCode).toBe(200)
    // Other spellings of a restricted path meet the same rule.
    for (const spelling of ['/orders/%61dmin/stats', '/orders//admin/stats', '/orders/admin/', '/orders/ad%6Din', '/orders/admin;x/stats', '/orders/admin;jsessionid=1']) {
      expect((await getWithToken(app, reader, spelling)).statusCode, spelling).toBe(403)
    }
    expect(upstream.requests.map((request) => `${request.method} ${request.url}`)).toEqual(['GET /1', 'GET /admin/stats', 'GET /admin', 'DELETE /1'])
  })
})

describe('requirements that anonymous or public requests cannot dodge', () => {
  it('in optional mode answers 401 where the service or a rule asks for more than a token', async () => {
    app = await authGateway(upstream.url, { mode: 'optional', rules: [{ path: '/admin/*', scopes: ['admin'] }] })
    expect((await getWithToken(app, null)).statusCode).toBe(200)
    expectRefused(await getWithToken(app, null, '/orders/admin/x'), 'GATEHOUSE_AUTH_REQUIRED')
    expect((await getWithToken(app, await hsToken(), '/orders/admin/x')).statusCode).toBe(403)
    await app.close()
    app = await authGateway(upstream.url, { mode: 'optional', scopes: ['orders:read'] })
    expectRefused(await getWithToken(app, null), 'GATEHOUSE_AUTH_REQUIRED')
    expect(upstream.requests).toHaveLength(1)
  })

  it('lets a rule win over a public route it also covers', async () => {
    app = await authGateway(upstream.url, { public: [{ path: '/*', methods: ['GET'] }], rules: [{ path: '/export', scopes: ['export'] }] })
    expect((await getWithToken(app, null, '/orders/1')).statusCode).toBe(200)
    expectRefused(await getWithToken(app, null, '/orders/export'), 'GATEHOUSE_AUTH_REQUIRED')
    expect((await getWithToken(app, await hsToken({ scope: 'export' }), '/orders/export')).statusCode).toBe(200)
  })

  it('applies a GET rule to HEAD too', async () => {
    app = await authGateway(upstream.url, { rules: [{ path: '/export', methods: ['GET'], scopes: ['export'] }] })
    const token = await hsToken()
    expect((await app.inject({ method: 'HEAD', url: '/orders/export', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(403)
    expect((await app.inject({ method: 'HEAD', url: '/orders/1', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(200)
  })

  it('reads scopes from a space-separated scp string, as Azure AD sends them', async () => {
    app = await authGateway(upstream.url, { scopes: ['orders:read'] })
    expect((await getWithToken(app, await hsToken({ scp: 'orders:read orders:write' }))).statusCode).toBe(200)
  })
})

describe('identity for the upstream', () => {
  it('sets X-User-Id and X-User-Scopes from the token and drops Authorization by default', async () => {
    app = await authGateway(upstream.url)
    await getWithToken(app, await hsToken({ sub: 'alice', scope: 'a b' }))
    expect(upstreamHeaders()).toMatchObject({ 'x-user-id': 'alice', 'x-user-scopes': 'a b' })
    expect(upstreamHeaders().authorization).toBeUndefined()
  })

  it('always removes client-sent identity headers, authenticated or not', async () => {
    app = await authGateway(upstream.url, { mode: 'optional', public: [{ path: '/public' }] })
    const spoofed = { 'x-user-id': 'admin', 'x-user-scopes': 'everything' }
    await app.inject({ url: '/orders/public', headers: spoofed })
    await app.inject({ url: '/orders/1', headers: spoofed })
    await app.inject({ url: '/orders/1', headers: { ...spoofed, authorization: `Bearer ${await hsToken({ sub: 'carol' })}` } })
    // CGI, WSGI and PHP read X_User_Id as X-User-Id: those spellings are dropped too.
    await app.inject({ url: '/orders/public', headers: { x_user_id: 'admin', 'X_User-Scopes': 'everything' } })
    expect(upstreamHeaders(3)['x_user_id']).toBeUndefined()
    expect(upstreamHeaders(3)['x_user-scopes']).toBeUndefined()
    expect(upstreamHeaders(0)['x-user-id']).toBeUndefined()
    expect(upstreamHeaders(1)['x-user-scopes']).toBeUndefined()
    expect(upstreamHeaders(2)).toMatchObject({ 'x-user-id': 'carol', 'x-user-scopes': '' })
  })

  it('maps configured claims to headers, forwards Authorization when asked, and never forwards unsafe values', async () => {
    app = await authGateway(upstream.url, { identityHeaders: { 'X-Tenant': 'tenant', 'x-user-id': 'sub', 'x-roles': 'roles', 'x-level': 'level' }, forwardAuthorization: true })
    const token = await hsToken({ sub: 'dave', tenant: 'acme\r\nx-injected: 1', roles: ['a', 'b'], level: 3 })
    expect((await getWithToken(app, token)).statusCode).toBe(200)
    expect(upstreamHeaders()).toMatchObject({ 'x-user-id': 'dave', 'x-roles': 'a,b', 'x-level': '3', authorization: `Bearer ${token}` })
    expect(upstreamHeaders()['x-tenant']).toBeUndefined()
    expect(upstreamHeaders()['x-injected']).toBeUndefined()
  })

  it('leaves out a scopes header a signed token made unsafe, instead of failing the request', async () => {
    app = await authGateway(upstream.url)
    expect((await getWithToken(app, await hsToken({ sub: 'erin', scope: 'a\r\nx-injected: 1' }))).statusCode).toBe(200)
    expect(upstreamHeaders()['x-user-id']).toBe('erin')
    expect(upstreamHeaders()['x-user-scopes']).toBeUndefined()
  })
})
