import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/load.js'
import type { ConfigProblem } from '../../src/config/problems.js'
import type { GatewayConfig } from '../../src/config/types.js'
import { ConfigInvalidError } from '../../src/errors.js'

function withCors (cors: unknown): unknown {
  return { services: [{ name: 'users', prefix: '/users', upstreams: ['http://127.0.0.1:3001'], cors }] }
}

async function problemsOf (raw: unknown): Promise<ConfigProblem[]> {
  const error = await parseConfig(raw, { env: {} }).then(() => undefined, (caught: unknown) => caught)
  expect(error).toBeInstanceOf(ConfigInvalidError)
  expect((error as ConfigInvalidError).code).toBe('GATEHOUSE_CONFIG_INVALID')
  return [...(error as ConfigInvalidError).problems]
}

describe('service cors', () => {
  it('fills in the defaults: GET, HEAD, POST, the headers a preflight asks for, no credentials, no max age', async () => {
    const config: GatewayConfig = await parseConfig(withCors({ origins: ['https://app.example.com'] }), { env: {} })
    expect(config.services[0]?.cors).toEqual({
      origins: ['https://app.example.com'],
      methods: ['GET', 'HEAD', 'POST'],
      allowedHeaders: null,
      exposedHeaders: [],
      credentials: false,
      maxAge: null
    })
  })

  it('is null for a service without it', async () => {
    const config = await parseConfig({ services: [{ name: 'users', prefix: '/users', upstreams: [] }] }, { env: {} })
    expect(config.services[0]?.cors).toBeNull()
  })

  it('refuses "*" with credentials, saying to list the origins', async () => {
    expect(await problemsOf(withCors({ origins: ['https://app.example.com', '*'], credentials: true }))).toEqual([{
      path: 'services[0].cors.origins', message: '"*" cannot be combined with credentials', hint: 'list the allowed origins explicitly'
    }])
  })

  it('refuses an origin without a scheme, with a path or with another scheme, each at its index', async () => {
    const problems = await problemsOf(withCors({
      origins: ['app.example.com', 'https://app.example.com/', 'https://app.example.com/api', 'ftp://files.example.com', 'http://localhost:5173']
    }))
    expect(problems.map((problem) => problem.path)).toEqual([0, 1, 2, 3].map((index) => `services[0].cors.origins[${index}]`))
  })

  it('refuses an empty origin list, an unknown method, a header name with a space and a max age over a day', async () => {
    const problems = await problemsOf({
      services: [
        { name: 'users', prefix: '/users', upstreams: [], cors: { origins: [] } },
        { name: 'orders', prefix: '/orders', upstreams: [], cors: { origins: ['*'], methods: ['FETCH'], allowedHeaders: ['X Trace'], maxAge: 86_401 } }
      ]
    })
    expect(problems.map((problem) => problem.path).sort()).toEqual([
      'services[0].cors.origins',
      'services[1].cors.allowedHeaders[0]',
      'services[1].cors.maxAge',
      'services[1].cors.methods[0]'
    ])
  })

  it('suggests the nearest key for a typo', async () => {
    expect(await problemsOf(withCors({ origins: ['*'], exposeHeaders: ['ETag'] }))).toEqual([{
      path: 'services[0].cors.exposeHeaders', message: 'unknown key "exposeHeaders"', hint: 'did you mean "exposedHeaders"?'
    }])
  })
})

describe('auth and rate-limit settings that cannot work', () => {
  it('are refused, each at its path: no key source, a service needing auth without keys, Redis store without Redis, a JWKS over http', async () => {
    const problems = await problemsOf({
      gateway: {
        auth: { jwks: [{ url: 'http://idp.example.com/jwks.json', issuers: ['https://idp.example.com'] }, { url: 'http://127.0.0.1:9000/jwks.json', issuers: ['local'] }] },
        rateLimit: { store: 'redis' }
      },
      services: [{ name: 'users', prefix: '/users', upstreams: [], auth: true }]
    })
    expect(problems.map((problem) => problem.path).sort()).toEqual(['gateway.auth.jwks[0].url', 'gateway.rateLimit.store'])
    const noKeys = await problemsOf({ gateway: { auth: {} }, services: [] })
    expect(noKeys.map((problem) => problem.path)).toEqual(['gateway.auth'])
    const noGatewayAuth = await problemsOf({ services: [{ name: 'users', prefix: '/users', upstreams: [], auth: { scopes: ['a'] } }] })
    expect(noGatewayAuth.map((problem) => problem.path)).toEqual(['services[0].auth'])
  })

  it('refuse a short secret, an unknown algorithm and a bad rule path', async () => {
    const problems = await problemsOf({
      gateway: { auth: { secrets: [{ secret: 'short', algorithms: ['none'] }] } },
      services: [{ name: 'users', prefix: '/users', upstreams: [], auth: { rules: [{ path: 'admin', scopes: ['a'] }] } }]
    })
    expect(problems.map((problem) => problem.path).sort()).toEqual([
      'gateway.auth.secrets[0].algorithms[0]', 'gateway.auth.secrets[0].secret', 'services[0].auth.rules[0].path'
    ])
  })
})
