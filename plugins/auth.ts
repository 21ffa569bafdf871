/**
 * JWT authentication and authorization (issue 3), on @fastify/jwt (fast-jwt underneath).
 *
 * `authKeys` (root): one KeyRing for the gateway, so every service shares key material, JWKS fetches and
 * their cooldowns. `serviceAuth` (per service scope): a verifier with the service's claim rules and a cache
 * of verified tokens (src/auth/verified-tokens.ts), and one onRequest hook: public route? → bearer token → verify → claim shapes →
 * scopes and claims → `request[kPrincipal]`. Every refusal is 401 (403 for scopes) problem+json with a
 * `WWW-Authenticate: Bearer` challenge (RFC 6750 §3), and the upstream is never called.
 */
import fp from 'fastify-plugin'
import fastifyJwt, { type FastifyJWTOptions } from '@fastify/jwt'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { AuthKeySettings, ResolvedService, ServiceAuthSettings } from '../src/config/types.js'
import { AuthRequiredError, InsufficientScopeError, TokenInvalidError } from '../src/errors.js'
import { bearerToken } from '../src/auth/bearer.js'
import { hasWellFormedClaims } from '../src/auth/claims.js'
import { KeyRing } from '../src/auth/key-ring.js'
import { principalFor, type Principal } from '../src/auth/principal.js'
import { VerifiedTokens } from '../src/auth/verified-tokens.js'
import { refusalReason, tokenRefusal } from '../src/auth/refusal.js'
import { compileRequirements, type RequirementCheck } from '../src/auth/requirements.js'
import { normalizedPathBelowPrefix } from '../src/http/normalized-path.js'
import { compileRouteMatch, pathBelowPrefix, type RouteTest } from '../src/http/route-match.js'
import { kHolding, kKeyRing, kPrincipal } from '../src/symbols.js'

async function authKeys (app: FastifyInstance, { settings }: { settings: AuthKeySettings }): Promise<void> {
  // jose (remote key sets) is loaded only when some are configured: ~180 modules and a few MB otherwise.
  const RemoteSets = settings.jwks.length > 0 ? (await import('../src/auth/jwks.js')).RemoteKeySet : null
  // Kept across a reload that leaves gateway.auth alone: fetched key sets and their cooldowns survive.
  const kept = app[kHolding].acquire('auth-keys', settings, () => ({ ring: new KeyRing(settings, app.log, RemoteSets), started: null as Promise<void> | null }),
    ({ ring }) => { ring.stop() })
  app.decorate(kKeyRing, kept.ring)
  app.addHook('onReady', async () => { await (kept.started ??= kept.ring.start()) })
}

/**
 * How long fast-jwt remembers a refused token. A bad signature or an expired token stays bad, so a replay
 * costs no signature check for a minute. A key that could not be found (a kid not fetched yet, a key set
 * that was unreachable) or an `nbf` still ahead may turn good: those are not remembered. fast-jwt stores
 * an error until now + clockTolerance + ttl, so "not remembered" is a ttl that ends before now.
 */
function refusalCacheTtl ({ code }: { code?: string }, clockTolerance: number): number {
  return code === 'FAST_JWT_KEY_FETCHING_ERROR' || code === 'FAST_JWT_INACTIVE' ? -clockTolerance - 1 : 60_000
}

const CHALLENGE = 'Bearer realm="gatehouse"'
const INVALID_TOKEN_CHALLENGE = `${CHALLENGE}, error="invalid_token"`

interface CompiledRule { readonly applies: RouteTest, readonly check: RequirementCheck | null }

async function serviceAuth (scope: FastifyInstance, { service }: { service: ResolvedService }): Promise<void> {
  const settings = service.auth as ServiceAuthSettings
  const keys = scope.gatehouse.config.auth as AuthKeySettings
  const ring = scope[kKeyRing] as KeyRing
  await scope.register(fastifyJwt, {
    // Only for a team plugin calling request.jwtVerify(): it gets the same keys (decoded with its header).
    secret: async (_request: FastifyRequest, decoded: unknown) => ring.keyFor(decoded as Parameters<KeyRing['keyFor']>[0]),
    decode: { complete: true },
    verify: {
      key: ring.keyFor,
      cache: keys.cacheSize === 0 ? false : keys.cacheSize,
      errorCacheTTL: (error: { code?: string }) => refusalCacheTtl(error, keys.clockTolerance),
      clockTolerance: keys.clockTolerance,
      // fast-jwt skips iss/aud checks when the claim is absent: require them whenever they are checked.
      requiredClaims: [
        ...(keys.requireExp ? ['exp'] : []),
        ...(keys.issuers === null ? [] : ['iss']),
        ...(settings.audiences === null ? [] : ['aud'])
      ],
      ...(keys.issuers === null ? {} : { allowedIss: [...keys.issuers] }),
      ...(settings.audiences === null ? {} : { allowedAud: [...settings.audiences] })
    }
    // @fastify/jwt documents `verify.key` as a string, a buffer or a key-returning function; its types know only the first two.
  } as unknown as FastifyJWTOptions)
  const verify = scope.jwt.verify as unknown as (token: string) => Promise<unknown>
  const verified = new VerifiedTokens(keys.cacheSize, keys.clockTolerance)
  const publicRoutes = settings.public.map(compileRouteMatch)
  const serviceCheck = compileRequirements(settings)
  const rules: CompiledRule[] = settings.rules.map((rule) => ({ applies: compileRouteMatch(rule.match), check: compileRequirements(rule) }))
  const prefixLength = service.prefix === '/' ? 0 : service.prefix.length
  const optional = settings.mode === 'optional'
  const { maxTokenBytes, clockTolerance } = keys

  // A callback hook: a token seen before is admitted synchronously, without a promise.
  scope.addHook('onRequest', function authenticate (request: FastifyRequest, reply: FastifyReply, done: HookDone): void {
    if (publicRoutes.length > 0 && isPublicRoute(request)) {
      done()
      return
    }
    let token: string | null
    try {
      token = bearerToken(request, maxTokenBytes)
    } catch (error) {
      reply.header('www-authenticate', INVALID_TOKEN_CHALLENGE)
      done(error as Error)
      return
    }
    if (token === null) {
      // Optional means anonymous calls pass where nothing more than a token is asked for.
      if (optional && serviceCheck === null && !hasMatchingRule(request)) {
        done()
        return
      }
      reply.header('www-authenticate', CHALLENGE)
      done(new AuthRequiredError())
      return
    }
    const known = verified.get(token, Date.now())
    if (known !== undefined) {
      admit(request, reply, known, done)
      return
    }
    verifyToken(token, request, reply, done)
  })

  /** A token not seen before: fast-jwt checks the signature and claims (the only path with a promise). */
  function verifyToken (token: string, request: FastifyRequest, reply: FastifyReply, done: HookDone): void {
    verify(token).then((claims) => {
      const now = Date.now()
      if (!hasWellFormedClaims(claims, now, clockTolerance)) {
        reply.header('www-authenticate', INVALID_TOKEN_CHALLENGE)
        done(new TokenInvalidError())
        return
      }
      const principal = principalFor(claims)
      verified.remember(token, principal, now)
      admit(request, reply, principal, done)
    }, (error: unknown) => {
      request.log.debug({ reason: refusalReason(error) }, 'bearer token refused')
      const refusal = tokenRefusal(error)
      if (refusal.statusCode === 401) reply.header('www-authenticate', INVALID_TOKEN_CHALLENGE)
      done(refusal)
    })
  }

  function admit (request: FastifyRequest, reply: FastifyReply, principal: Principal, done: HookDone): void {
    if (!isAuthorized(principal, request)) {
      reply.header('www-authenticate', `${CHALLENGE}, error="insufficient_scope"`)
      done(new InsufficientScopeError())
      return
    }
    request[kPrincipal] = principal
    done()
  }

  /**
   * Public routes exempt, so they match the literal path; rules restrict, so /x, /%78, //x and /x;p all
   * meet them. A rule that also covers a public route wins: the route is public except where a rule asks more.
   */
  function isPublicRoute (request: FastifyRequest): boolean {
    const path = pathBelowPrefix(request.url, prefixLength)
    for (const isPublic of publicRoutes) if (isPublic(request.method, path)) return !hasMatchingRule(request)
    return false
  }

  function hasMatchingRule (request: FastifyRequest): boolean {
    if (rules.length === 0) return false
    const path = normalizedPathBelowPrefix(request.url, prefixLength)
    for (const rule of rules) if (rule.check !== null && rule.applies(request.method, path)) return true
    return false
  }

  function isAuthorized (principal: Principal, request: FastifyRequest): boolean {
    if (serviceCheck !== null && !serviceCheck(principal)) return false
    if (rules.length === 0) return true
    const path = normalizedPathBelowPrefix(request.url, prefixLength)
    for (const rule of rules) {
      if (rule.check !== null && rule.applies(request.method, path) && !rule.check(principal)) return false
    }
    return true
  }
}

type HookDone = (error?: Error) => void

export const authKeysPlugin = fp(authKeys, { name: 'gatehouse-auth-keys', fastify: '5.x' })
export const serviceAuthPlugin = fp(serviceAuth, { name: 'gatehouse-service-auth', fastify: '5.x' })
