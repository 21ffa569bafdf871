/**
 * One rate-limit tier: a limit, a key, its own counters, and what it adds to the response. The counting
 * engine is @fastify/rate-limit, used through `createRateLimit()` so the tier (not the plugin) decides
 * headers, errors and what a store failure means.
 *
 * Each tier gets its own @fastify/rate-limit registration, in its own encapsulated context, because:
 * - a registration has one store, and `createRateLimit(options)` derives child stores whose Redis
 *   namespace ignores the options (every child of one registration would share "<ns>undefinedundefined-"
 *   keys), so tiers would share counters; a registration per tier gets its own `nameSpace`;
 * - its `createRateLimit` decorator is skipped when a parent context already has one, so registering
 *   where another registration is visible would silently reuse that one's store;
 * - `createRateLimit()` ignores the per-registration "ran" flag that `rateLimit()` hooks share, so two
 *   tiers on one request both count.
 */
import fastifyRateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { LimitSettings } from '../config/types.js'
import { RateLimitedError } from '../errors.js'
import type { CallerKey } from './client-key.js'
import { addLegacyHeaders, addLimitHeaders, policyMember, sfString } from './headers.js'
import { kRateLimit, type RateLimitState } from './state.js'

type Limiter = ReturnType<FastifyInstance['createRateLimit']>

export interface TierSpec extends LimitSettings {
  /** Policy name in the headers ("ip", "user", "route:/search"). */
  readonly name: string
  /** Redis key segment that keeps this tier's counters apart from every other tier's ("ip", "service:users:user"). */
  readonly namespace: string
  /** Absent: the client IP bucket (@fastify/rate-limit's own key, IPv6 per /64). */
  readonly key?: CallerKey
  /** Keys never counted, in the form `key` produces. */
  readonly exempt?: readonly string[]
}

export interface Tier {
  readonly quotedName: string
  /** Its RateLimit-Policy member, built once. */
  readonly policy: string
  readonly limiter: Limiter
  readonly state: RateLimitState
}

/** Registers the tier's engine in a child context of `scope` and returns the tier once it is ready. */
export async function registerTier (scope: FastifyInstance, spec: TierSpec): Promise<Tier> {
  const state = scope[kRateLimit]
  let limiter: Limiter | undefined
  await scope.register(async function rateLimitTier (engine: FastifyInstance) {
    if (engine.hasDecorator('createRateLimit')) {
      throw new Error(`@fastify/rate-limit is registered above the gateway's "${spec.name}" tier; register it inside your own plugin's scope instead`)
    }
    await engine.register(fastifyRateLimit, {
      global: false,
      max: spec.max,
      timeWindow: spec.window,
      // The memory store is an LRU of at most maxKeys counters per tier.
      cache: state.settings.maxKeys,
      ...(state.redis === null ? {} : { redis: state.redis, nameSpace: `${state.keyPrefix}rl:${spec.namespace}:` }),
      ...(spec.key === undefined ? {} : { keyGenerator: spec.key }),
      ...(spec.exempt === undefined || spec.exempt.length === 0 ? {} : { allowList: [...spec.exempt] }),
      // Store errors reach countRequest, which applies the failure policy.
      skipOnError: false
    })
    limiter = engine.createRateLimit()
  })
  if (limiter === undefined) throw new Error(`rate-limit tier "${spec.name}" did not initialise`)
  return { quotedName: sfString(spec.name), policy: policyMember(spec.name, spec.max, spec.window), limiter, state }
}

/** Counts the request in `tier`: adds its headers, and rejects with 429 past the limit (503 on a store failure under "closed"). */
export async function countRequest (tier: Tier, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  let result: Awaited<ReturnType<Limiter>>
  try {
    result = await tier.limiter(request)
  } catch (error) {
    const refusal = tier.state.failures.record(error)
    if (refusal !== null) throw refusal
    return
  }
  if (result.isAllowed) return
  const limit = { max: result.max, remaining: result.remaining, resetSeconds: Math.max(1, result.ttlInSeconds) }
  addLimitHeaders(reply, tier.quotedName, tier.policy, limit)
  if (tier.state.settings.legacyHeaders) addLegacyHeaders(reply, limit)
  if (result.isExceeded) {
    // Retry-After equals the effective window: never earlier than it (draft-ietf-httpapi-ratelimit-headers §6).
    reply.header('retry-after', limit.resetSeconds)
    throw new RateLimitedError(limit.resetSeconds)
  }
}
