/** Key sources: PEM public keys of every JWS family, and a remote JWKS that rotates, floods and fails. */
import { afterEach, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { randomUUID } from 'node:crypto'
import { HS_SECRET, hsToken, keyPair, pairToken, startJwksServer, tempFiles, type JwksServer, type KeyAlg } from '../helpers/jwt.js'
import { expectProblem } from '../helpers/problem.js'
import { startUpstream, type TestUpstream } from '../helpers/upstream.js'
import { authGateway, expectRefused, getWithToken } from './auth-gateway.js'

const ISSUER = 'https://idp.test'

const cleanups: Array<() => Promise<void>> = []
let app: FastifyInstance | undefined

afterEach(async () => {
  await app?.close()
  app = undefined
  while (cleanups.length > 0) await cleanups.pop()?.()
})

async function upstreamFor (): Promise<TestUpstream> {
  const upstream = await startUpstream()
  cleanups.push(async () => upstream.close())
  return upstream
}

async function jwksFor (...keys: Parameters<typeof startJwksServer>[0]): Promise<JwksServer> {
  const server = await startJwksServer(keys)
  cleanups.push(async () => server.close())
  return server
}

describe('PEM public keys', () => {
  it.each<KeyAlg>(['RS256', 'PS256', 'ES256', 'EdDSA'])('verify %s tokens, and only with their own key', async (alg) => {
    const upstream = await upstreamFor()
    const pair = await keyPair(alg, 'k1')
    const stranger = await keyPair(alg, 'k1')
    const files = await tempFiles({ 'key.pem': pair.publicPem })
    cleanups.push(files.remove)
    app = await authGateway(upstream.url, true, { publicKeys: [{ file: 'key.pem' }] }, files.dir)
    expect((await getWithToken(app, await pairToken(pair, { sub: 'erin' }))).statusCode).toBe(200)
    expect(upstream.requests[0]?.headers['x-user-id']).toBe('erin')
    expectRefused(await getWithToken(app, await pairToken(stranger)))
    expectRefused(await getWithToken(app, await hsToken()))
    expect(upstream.requests).toHaveLength(1)
  })

  it('pick the key by kid when several are configured, next to an HMAC secret', async () => {
    const upstream = await upstreamFor()
    const first = await keyPair('ES256', 'one')
    const second = await keyPair('ES256', 'two')
    const files = await tempFiles({ 'one.pem': first.publicPem, 'two.pem': second.publicPem })
    cleanups.push(files.remove)
    app = await authGateway(upstream.url, true, {
      secrets: [{ secret: HS_SECRET, algorithms: ['HS256'] }],
      publicKeys: [{ file: 'one.pem', kid: 'one' }, { file: 'two.pem', kid: 'two' }]
    }, files.dir)
    expect((await getWithToken(app, await pairToken(first))).statusCode).toBe(200)
    expect((await getWithToken(app, await pairToken(second))).statusCode).toBe(200)
    expectRefused(await getWithToken(app, await pairToken(second, {}, { header: { kid: 'one' } })))
    expect((await getWithToken(app, await hsToken())).statusCode).toBe(200)
    // The secret is pinned to HS256: the same secret may not sign HS512 tokens.
    expectRefused(await getWithToken(app, await hsToken({}, { alg: 'HS512' })))
  })

  it('are refused at load time when the file holds a private key or no key', async () => {
    const pair = await keyPair('RS256')
    const { exportPKCS8 } = await import('jose')
    const files = await tempFiles({ 'private.pem': await exportPKCS8(pair.privateKey), 'junk.pem': 'not a key' })
    cleanups.push(files.remove)
    await expect(authGateway('http://127.0.0.1:9', true, { publicKeys: [{ file: 'private.pem' }, { file: 'junk.pem' }, { file: 'missing.pem' }] }, files.dir))
      .rejects.toMatchObject({
        problems: [
          { path: 'gateway.auth.publicKeys[0].file' },
          { path: 'gateway.auth.publicKeys[1].file' },
          { path: 'gateway.auth.publicKeys[2].file', message: 'file "missing.pem" does not exist' }
        ]
      })
  })
})

describe('a remote JWKS', () => {
  const jwksAuth = (server: JwksServer, cooldown = 60_000) => ({ jwks: [{ url: server.url, issuers: [ISSUER], cooldown }] })

  it('is fetched once at start, then serves every token from its cache', async () => {
    const upstream = await upstreamFor()
    const pair = await keyPair('RS256', 'a')
    const server = await jwksFor(pair.publicJwk)
    app = await authGateway(upstream.url, true, jwksAuth(server))
    expect(server.fetches).toBe(1)
    for (let index = 0; index < 5; index++) {
      expect((await getWithToken(app, await pairToken(pair, { iss: ISSUER, jti: randomUUID() }))).statusCode).toBe(200)
    }
    expect(server.fetches).toBe(1)
  })

  it('picks up a rotated key after the cooldown, and a flood of unknown kids costs no fetch within it', async () => {
    const upstream = await upstreamFor()
    const old = await keyPair('ES256', 'old')
    const rotated = await keyPair('ES256', 'new')
    const server = await jwksFor(old.publicJwk)
    app = await authGateway(upstream.url, true, jwksAuth(server, 500))
    expect((await getWithToken(app, await pairToken(old, { iss: ISSUER }))).statusCode).toBe(200)
    // The identity provider rotates: the new key appears, the old one is withdrawn.
    server.keys = [rotated.publicJwk]
    await new Promise((resolve) => setTimeout(resolve, 550))
    expect((await getWithToken(app, await pairToken(rotated, { iss: ISSUER }))).statusCode).toBe(200)
    expect(server.fetches).toBe(2)
    // Within the cooldown that refetch started, invented kids do not reach the identity provider.
    const floods = await Promise.all(Array.from({ length: 50 }, async () =>
      getWithToken(app as FastifyInstance, await pairToken(rotated, { iss: ISSUER }, { header: { kid: randomUUID() } }))))
    for (const response of floods) expectRefused(response)
    expect(server.fetches).toBe(2)
    expect(upstream.requests).toHaveLength(2)
  })

  it('refetches for an unknown kid again once the cooldown has passed', async () => {
    const upstream = await upstreamFor()
    const first = await keyPair('EdDSA', 'first')
    const later = await keyPair('EdDSA', 'later')
    const server = await jwksFor(first.publicJwk)
    app = await authGateway(upstream.url, true, jwksAuth(server, 200))
    // Just fetched at start: within the cooldown an unknown kid is refused without a refetch.
    expectRefused(await getWithToken(app, await pairToken(later, { iss: ISSUER })))
    const fetchesBefore = server.fetches
    expect(fetchesBefore).toBe(1)
    server.keys = [first.publicJwk, later.publicJwk]
    await new Promise((resolve) => setTimeout(resolve, 250))
    expect((await getWithToken(app, await pairToken(later, { iss: ISSUER }))).statusCode).toBe(200)
    expect(server.fetches).toBe(fetchesBefore + 1)
  })

  it('is refreshed in the background, so a rotation is picked up even while unknown kids are cooling down', async () => {
    const upstream = await upstreamFor()
    const old = await keyPair('RS256', 'old')
    const rotated = await keyPair('RS256', 'new')
    const server = await jwksFor(old.publicJwk)
    app = await authGateway(upstream.url, true, { jwks: [{ url: server.url, issuers: [ISSUER], cooldown: 60_000, refreshInterval: 100 }] })
    server.keys = [rotated.publicJwk]
    // Within the cooldown, a token with the new kid cannot trigger a refetch itself...
    expectRefused(await getWithToken(app, await pairToken(rotated, { iss: ISSUER })))
    // ...but the scheduled refresh brings the new key in.
    await new Promise((resolve) => setTimeout(resolve, 350))
    expect(server.fetches).toBeGreaterThanOrEqual(3)
    expect((await getWithToken(app, await pairToken(rotated, { iss: ISSUER, jti: 'after-refresh' }))).statusCode).toBe(200)
    // A key withdrawn from the set stops verifying new tokens after the next refresh.
    expectRefused(await getWithToken(app, await pairToken(old, { iss: ISSUER, jti: 'withdrawn' })))
  })

  it('is not refetched for every token while the identity provider is down: known keys still work, unknown kids are refused', async () => {
    const upstream = await upstreamFor()
    const known = await keyPair('ES256', 'known')
    const stranger = await keyPair('ES256', 'stranger')
    const server = await jwksFor(known.publicJwk)
    // The cooldown is long enough for the 21 requests below on a loaded 2-core CI machine (300 ms was not:
    // the cooldown ran out mid-loop and a forged kid fetched again). The tokens are minted beforehand for
    // the same reason.
    const cooldown = 1000
    app = await authGateway(upstream.url, true, { jwks: [{ url: server.url, issuers: [ISSUER], cooldown }] })
    const strangerToken = await pairToken(stranger, { iss: ISSUER })
    const forgedTokens = await Promise.all(Array.from({ length: 20 }, async () => pairToken(stranger, { iss: ISSUER }, { header: { kid: randomUUID() } })))
    const knownToken = await pairToken(known, { iss: ISSUER })
    await new Promise((resolve) => setTimeout(resolve, cooldown + 50))
    server.failing = true
    // Past the cooldown an unknown kid asks the provider once; the failure starts a new cooldown...
    const first = await getWithToken(app, strangerToken)
    expect(first.statusCode).toBe(503)
    expect(server.fetches).toBe(2)
    // ...within which forged kids cost no fetch, and the keys already known keep verifying.
    for (const forged of forgedTokens) expectRefused(await getWithToken(app as FastifyInstance, forged))
    expect((await getWithToken(app, knownToken)).statusCode).toBe(200)
    expect(server.fetches).toBe(2)
  })

  it('answers 503 at once, without a fetch per request, when the key set could not be fetched at start', async () => {
    const upstream = await upstreamFor()
    const pair = await keyPair('RS256', 'a')
    const server = await jwksFor(pair.publicJwk)
    server.failing = true
    app = await authGateway(upstream.url, true, { jwks: [{ url: server.url, issuers: [ISSUER], cooldown: 60_000 }] })
    for (let index = 0; index < 5; index++) expect((await getWithToken(app, await pairToken(pair, { iss: ISSUER }))).statusCode).toBe(503)
    expect(server.fetches).toBe(1)
  })

  it('is used only for its own issuers', async () => {
    const upstream = await upstreamFor()
    const pair = await keyPair('RS256', 'a')
    const server = await jwksFor(pair.publicJwk)
    app = await authGateway(upstream.url, true, jwksAuth(server))
    expectRefused(await getWithToken(app, await pairToken(pair, { iss: 'https://other-idp.test' })))
    expectRefused(await getWithToken(app, await pairToken(pair)))
    expect(upstream.requests).toHaveLength(0)
  })

  it('answers 503 (not 401) while the key set cannot be fetched, and recovers when it can', async () => {
    const upstream = await upstreamFor()
    const pair = await keyPair('RS256', 'a')
    const server = await jwksFor(pair.publicJwk)
    server.failing = true
    app = await authGateway(upstream.url, true, jwksAuth(server, 1))
    const down = await getWithToken(app, await pairToken(pair, { iss: ISSUER }))
    expectProblem({ statusCode: down.statusCode, headers: down.headers, body: down.body }, 503, 'GATEHOUSE_AUTH_KEYS_UNAVAILABLE', [String(new URL(server.url).port)])
    server.failing = false
    await new Promise((resolve) => setTimeout(resolve, 5))
    expect((await getWithToken(app, await pairToken(pair, { iss: ISSUER }))).statusCode).toBe(200)
    expect(upstream.requests).toHaveLength(1)
  })
})
