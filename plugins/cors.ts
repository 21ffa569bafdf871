/**
 * Cross-origin browser access to a service (issue 3, "Network access"). The gateway answers preflights
 * itself in onRequest, after the IP lists and before auth and rate limits (a preflight carries no
 * credentials), and never forwards them. On every other response, the upstream's or the gateway's own
 * problems (403, 413, 502...), onSend writes the service's Access-Control-* headers over the upstream's:
 * The upstream call copies the upstream headers onto the reply after onRequest, and its error path clears them.
 * A disallowed origin gets no CORS headers and is still proxied: CORS lets browsers read answers, it does
 * not keep anyone out.
 *
 * Not @fastify/cors (v11), although it is the Fastify family's plugin:
 * - it always registers an `OPTIONS *` route in the scope (no option turns it off; hideOptionsRoute only hides
 *   it from docs). Under the prefix /users that is `/users*`, so it answers preflights for /usersX; for a
 *   service at "/" it duplicates the proxy's `OPTIONS /*` and the gateway fails to boot
 *   (test/plugins/cors.test.ts pins both);
 * - its headers are set from onRequest..preSerialization, which the upstream's headers then override
 *   (preSerialization never runs for a proxied stream), so we would need an onSend pass anyway;
 * - strictPreflight answers a non-preflight OPTIONS with 400 and its absence answers every OPTIONS with 204,
 *   while a non-preflight OPTIONS belongs to the upstream (only a per-request delegator avoids both).
 */
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { CorsSettings } from '../src/config/types.js'

export interface CorsOptions {
  readonly settings: CorsSettings
}

interface CorsPolicy {
  /** null: any origin, answered with "*" (never with credentials: the config refuses that). */
  readonly origins: ReadonlySet<string> | null
  readonly credentials: boolean
  readonly exposedHeaders: string | null
  readonly allowMethods: string
  /** null: echo the preflight's Access-Control-Request-Headers. */
  readonly allowHeaders: string | null
  readonly maxAge: string | null
}

/** Browsers send a serialized origin: lower-case scheme and host, no default port. */
function canonicalOrigin (origin: string): string {
  try {
    return new URL(origin).origin
  } catch {
    return origin
  }
}

export function compileCorsPolicy (settings: CorsSettings): CorsPolicy {
  const joined = (list: readonly string[]): string | null => list.length === 0 ? null : list.join(', ')
  return {
    origins: settings.origins.includes('*') ? null : new Set(settings.origins.map(canonicalOrigin)),
    credentials: settings.credentials,
    exposedHeaders: joined(settings.exposedHeaders),
    allowMethods: settings.methods.join(', '),
    allowHeaders: settings.allowedHeaders === null ? null : settings.allowedHeaders.join(', '),
    maxAge: settings.maxAge === null ? null : String(settings.maxAge)
  }
}

function allowedOriginFor (policy: CorsPolicy, origin: string | undefined): string | null {
  if (policy.origins === null) return '*'
  return origin !== undefined && policy.origins.has(origin) ? origin : null
}

/** Adds a field to Vary, keeping what the upstream already varies on. */
function varyOn (reply: FastifyReply, field: string): void {
  const current = reply.getHeader('vary')
  if (current === undefined) {
    reply.header('vary', field)
    return
  }
  const value = Array.isArray(current) ? current.join(', ') : String(current)
  const fields = value.toLowerCase().split(',').map((name) => name.trim())
  if (!fields.includes('*') && !fields.includes(field.toLowerCase())) reply.header('vary', `${value}, ${field}`)
}

async function cors (scope: FastifyInstance, { settings }: CorsOptions): Promise<void> {
  const policy = compileCorsPolicy(settings)

  scope.addHook('onRequest', function answerPreflight (request: FastifyRequest, reply: FastifyReply, done: () => void) {
    const { origin, 'access-control-request-method': requestedMethod } = request.headers
    if (request.method !== 'OPTIONS' || origin === undefined || requestedMethod === undefined) {
      done()
      return
    }
    // Allow-Origin, Allow-Credentials and Vary: Origin come from onSend, as on every response.
    if (allowedOriginFor(policy, origin) !== null) {
      reply.header('access-control-allow-methods', policy.allowMethods)
      if (policy.allowHeaders === null) {
        varyOn(reply, 'Access-Control-Request-Headers')
        const requestedHeaders = request.headers['access-control-request-headers']
        if (requestedHeaders !== undefined) reply.header('access-control-allow-headers', requestedHeaders)
      } else {
        reply.header('access-control-allow-headers', policy.allowHeaders)
      }
      if (policy.maxAge !== null) reply.header('access-control-max-age', policy.maxAge)
    }
    // Content-Length 0: Safari waits for a body on a 204 without it.
    reply.code(204).header('content-length', '0').send()
  })

  scope.addHook('onSend', function writeCorsHeaders (request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (error: null, payload: unknown) => void) {
    const allowedOrigin = allowedOriginFor(policy, request.headers.origin)
    if (policy.origins !== null) varyOn(reply, 'Origin')
    if (allowedOrigin === null) {
      reply.removeHeader('access-control-allow-origin')
      reply.removeHeader('access-control-allow-credentials')
      reply.removeHeader('access-control-expose-headers')
    } else {
      reply.header('access-control-allow-origin', allowedOrigin)
      if (policy.credentials) reply.header('access-control-allow-credentials', 'true')
      else reply.removeHeader('access-control-allow-credentials')
      if (policy.exposedHeaders !== null) reply.header('access-control-expose-headers', policy.exposedHeaders)
      else reply.removeHeader('access-control-expose-headers')
    }
    done(null, payload)
  })
}

export default fp(cors, { name: 'gatehouse-cors', fastify: '5.x' })
