/**
 * Hostile tokens (issue 3, "Attack cases"): each one is refused with 401 problem+json and a Bearer
 * challenge, and the upstream is never called.
 */
import { createHmac } from 'node:crypto'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { buildGateway } from '../../src/gateway.js'
import { startGateway } from '../../src/server.js'
import { sendRequest } from '../helpers/client.js'
import { configFor } from '../helpers/gateway.js'
import { forgedToken, HS_SECRET, hsToken, keyPair, pairToken, startJwksServer, tempFiles, type JwksServer, type TestKeyPair } from '../helpers/jwt.js'
import { startUpstream, type TestUpstream } from '../helpers/upstream.js'
import { expectRefused, getWithToken } from './auth-gateway.js'

const ISSUER = 'https://idp.test'
const AUDIENCE = 'orders-api'

let upstream: TestUpstream
let rsa: TestKeyPair
let files: Awaited<ReturnType<typeof tempFiles>>
let attackerJwks: JwksServer
let app: FastifyInstance

/** An HS256 signature over exactly these bytes: for payloads jose refuses to sign (arrays, odd types). */
function hmacToken (header: unknown, payload: unknown, secret = HS_SECRET): string {
  const unsigned = forgedToken(header, payload).slice(0, -1)
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`
}

const future = (): number => Math.floor(Date.now() / 1000) + 300

beforeAll(async () => {
  upstream = await startUpstream()
  rsa = await keyPair('RS256', 'rsa-1')
  files = await tempFiles({ 'rsa.pem': rsa.publicPem })
  attackerJwks = await startJwksServer([])
  const config = await configFor({
    gateway: {
      auth: { secrets: [{ secret: HS_SECRET }], publicKeys: [{ file: 'rsa.pem', kid: 'rsa-1' }], issuers: [ISSUER], audiences: [AUDIENCE], clockTolerance: 0 }
    },
    services: [{ name: 'orders', prefix: '/orders', upstreams: [upstream.url], auth: true }]
  }, files.dir)
  app = buildGateway(config, { logger: false })
  await app.ready()
})

afterAll(async () => {
  await app.close()
  await upstream.close()
  await attackerJwks.close()
  await files.remove()
})

afterEach(() => {
  const reached = upstream.requests.filter((request) => request.url !== '/ok')
  upstream.requests.length = 0
  expect(reached).toHaveLength(0)
})

const claims = { iss: ISSUER, aud: AUDIENCE }

describe('a gateway pinned to its keys and claims', () => {
  it('accepts the well-formed tokens it is configured for (the control case)', async () => {
    expect((await getWithToken(app, await hsToken(claims), '/orders/ok')).statusCode).toBe(200)
    expect((await getWithToken(app, await pairToken(rsa, claims), '/orders/ok')).statusCode).toBe(200)
    upstream.requests.length = 0
  })

  it.each(['none', 'NONE', 'None', 'nOnE'])('refuses alg "%s", signed or not', async (alg) => {
    const payload = { ...claims, sub: 'mallory', exp: future() }
    expectRefused(await getWithToken(app, forgedToken({ alg, typ: 'JWT' }, payload)))
    expectRefused(await getWithToken(app, forgedToken({ alg }, payload, 'c2lnbmF0dXJl')))
  })

  it('refuses an HS256 token signed with the RSA public key PEM as its secret (algorithm confusion)', async () => {
    expectRefused(await getWithToken(app, hmacToken({ alg: 'HS256', kid: 'rsa-1' }, { ...claims, exp: future() }, rsa.publicPem)))
    expectRefused(await getWithToken(app, hmacToken({ alg: 'HS256' }, { ...claims, exp: future() }, rsa.publicPem)))
  })

  it('refuses an RS256 header on an HMAC-signed token', async () => {
    const unsigned = forgedToken({ alg: 'RS256', kid: 'rsa-1' }, { ...claims, exp: future() }).slice(0, -1)
    expectRefused(await getWithToken(app, `${unsigned}.${createHmac('sha256', HS_SECRET).update(unsigned).digest('base64url')}`))
  })

  it('refuses expired, not-yet-valid, exp-less and future-iat tokens', async () => {
    expectRefused(await getWithToken(app, await hsToken(claims, { expiresIn: -1 })), 'GATEHOUSE_TOKEN_EXPIRED')
    expectRefused(await getWithToken(app, await hsToken({ ...claims, nbf: future() })))
    expectRefused(await getWithToken(app, await hsToken(claims, { expiresIn: null })))
    expectRefused(await getWithToken(app, hmacToken({ alg: 'HS256' }, { ...claims, exp: future(), iat: future() })))
    expectRefused(await getWithToken(app, hmacToken({ alg: 'HS256' }, { ...claims, exp: String(future()) })))
  })

  it('refuses a wrong, missing or list-valued issuer, and a wrong or missing audience', async () => {
    expectRefused(await getWithToken(app, await hsToken({ ...claims, iss: 'https://evil.test' })))
    expectRefused(await getWithToken(app, await hsToken({ aud: AUDIENCE })))
    expectRefused(await getWithToken(app, hmacToken({ alg: 'HS256' }, { ...claims, iss: ['https://evil.test', ISSUER], exp: future() })))
    expectRefused(await getWithToken(app, await hsToken({ ...claims, aud: 'billing-api' })))
    expectRefused(await getWithToken(app, await hsToken({ iss: ISSUER })))
  })

  it('refuses a JSON array or a scalar as the payload', async () => {
    expectRefused(await getWithToken(app, hmacToken({ alg: 'HS256' }, [claims])))
    expectRefused(await getWithToken(app, hmacToken({ alg: 'HS256' }, 42)))
    expectRefused(await getWithToken(app, hmacToken({ alg: 'HS256' }, 'null')))
  })

  it.each([
    ['unknown', 'rsa-2'],
    ['a path', '../../../../etc/passwd'],
    ['a URL', 'http://127.0.0.1:1/keys'],
    ['SQL', "' OR 1=1 --"],
    ['NUL bytes', 'rsa-1\u0000'],
    ['4 KB long', 'k'.repeat(4096)],
    ['a number', 1],
    ['an object', { $ne: null }],
    ['empty', '']
  ])('refuses a kid that is %s', async (_label, kid) => {
    expectRefused(await getWithToken(app, await pairToken(rsa, claims, { header: { kid } })))
  })

  it('never fetches keys from the token\'s jku or x5u', async () => {
    const other = await keyPair('RS256', 'attacker')
    attackerJwks.keys = [other.publicJwk]
    const token = await pairToken(other, claims, { header: { jku: attackerJwks.url, x5u: attackerJwks.url } })
    expectRefused(await getWithToken(app, token))
    expect(attackerJwks.fetches).toBe(0)
  })

  it.each([
    ['two segments', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0'],
    ['four segments', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln.c2ln'],
    ['characters outside base64url', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIi!OiJ4In0.c2ln'],
    ['padding', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0=.c2ln'],
    ['a header that is not JSON', `${Buffer.from('{alg').toString('base64url')}.eyJzdWIiOiJ4In0.c2ln`],
    ['base64 that is not UTF-8 JSON', '____.____.____'],
    ['nothing', '']
  ])('refuses a token with %s', async (_label, token) => {
    const response = await app.inject({ url: '/orders/1', headers: { authorization: `Bearer ${token}` } })
    expect(response.statusCode).toBe(401)
    expect(response.json()).toMatchObject({ status: 401 })
  })

  it('refuses a 12 KB token without parsing it', async () => {
    const token = await hsToken({ ...claims, padding: 'x'.repeat(12 * 1024) })
    expectRefused(await getWithToken(app, token))
  })

  it('refuses a signature from another secret, and a tampered payload', async () => {
    expectRefused(await getWithToken(app, await hsToken(claims, { secret: 'a-different-secret-of-at-least-32-bytes!!' })))
    const [header, , signature] = (await hsToken(claims)).split('.')
    const tampered = Buffer.from(JSON.stringify({ ...claims, sub: 'admin', exp: future() })).toString('base64url')
    expectRefused(await getWithToken(app, `${header}.${tampered}.${signature}`))
  })

  it('never answers with the verifier\'s own code or message', async () => {
    const response = await getWithToken(app, await hsToken({ ...claims, iss: 'https://evil.test' }))
    expect(response.body).not.toMatch(/FAST_JWT|FST_JWT|claim|iss/i)
  })
})

describe('on a real socket', () => {
  it('refuses a request with two Authorization headers', async () => {
    const running = await startGateway(await configFor({
      gateway: { auth: { secrets: [{ secret: HS_SECRET }] } },
      services: [{ name: 'orders', prefix: '/orders', upstreams: [upstream.url], auth: true }]
    }), { host: '127.0.0.1', port: 0 }, { logger: false })
    try {
      const good = await hsToken({})
      const response = await sendRequest(running.url, { path: '/orders/1', headers: { authorization: [`Bearer ${good}`, `Bearer ${good}`] as unknown as string } })
      expect(response.status).toBe(401)
      expect(response.json()).toMatchObject({ code: 'GATEHOUSE_TOKEN_INVALID' })
      expect((await sendRequest(running.url, { path: '/orders/ok', headers: { authorization: `Bearer ${good}` } })).status).toBe(200)
      upstream.requests.length = 0
    } finally {
      await running.close()
    }
  })
})
