/**
 * One rate-limit tier: a limit, a key, its own counters (src/rate-limit/stores.ts), and what it adds to the
 * response. Counting is callback-based: on the memory store a tier runs synchronously, with no promise and
 * no closure per request; on Redis it costs one round trip.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { LimitSettings } from '../config/types.js'
import { RateLimitedError } from '../errors.js'
import type { CallerKey } from './client-key.js'
import { addLegacyHeaders, addLimitHeaders, policyMember, sfString } from './headers.js'
import { nothingToClose } from '../reload/carryover.js'
import type { RateLimitState } from './state.js'
import { memoryStore, redisStore, type CounterStore, type StoreResult } from './stores.js'

export interface TierSpec extends LimitSettings {
  /** Policy name in the headers ("ip", "user", "route:/search"). */
  readonly name: string
  /** Redis key segment that keeps this tier's counters apart from every other tier's ("ip", "service:users:user"). */
  readonly namespace: string
  readonly key: CallerKey
  /** Keys never counted, in the form `key` produces. */
  readonly exempt?: readonly string[]
  /** Client addresses never counted, whatever the key. */
  readonly exemptIp?: ((ip: string) => boolean) | null
}

export interface Tier {
  readonly max: number
  readonly window: number
  readonly key: CallerKey
  readonly exempt: ReadonlySet<string> | null
  readonly exemptIp: ((ip: string) => boolean) | null
  /** Set when counters live in this process: its `incr` answers synchronously. */
  readonly memory: CounterStore | null
  readonly redis: CounterStore | null
  readonly quotedName: string
  /** Its RateLimit-Policy member, built once. */
  readonly policy: string
  readonly state: RateLimitState
}

export type TierDone = (error?: Error) => void

export function createTier (state: RateLimitState, spec: TierSpec): Tier {
  // Counters in memory survive a reload that keeps the tier (same namespace): a reload never resets limits.
  const memory = state.redis === null
    ? state.holding.acquire(`rate-limit-counters:${spec.namespace}`, state.settings.maxKeys, () => memoryStore(state.settings.maxKeys), nothingToClose)
    : null
  return {
    max: spec.max,
    window: spec.window,
    key: spec.key,
    exempt: spec.exempt === undefined || spec.exempt.length === 0 ? null : new Set(spec.exempt),
    exemptIp: spec.exemptIp ?? null,
    memory,
    redis: state.redis === null ? null : redisStore(state.redis, `${state.keyPrefix}rl:${spec.namespace}:`),
    quotedName: sfString(spec.name),
    policy: policyMember(spec.name, spec.max, spec.window),
    state
  }
}

// The memory store calls back before `incr` returns: one module-level callback receives its answer, so
// counting in memory allocates no closure.
let counted: StoreResult | null = null
function keepCount (_error: Error | null, result: StoreResult | null): void {
  counted = result
}

/**
 * Counts the request in `tier`, adds its headers, and calls `done` with a 429 past the limit (or with a
 * 503 on a store failure under the "closed" policy).
 */
export function countRequest (tier: Tier, request: FastifyRequest, reply: FastifyReply, done: TierDone): void {
  const key = tier.key(request)
  if ((tier.exempt !== null && tier.exempt.has(key)) || (tier.exemptIp !== null && tier.exemptIp(request.ip))) {
    done()
    return
  }
  if (tier.memory !== null) {
    tier.memory.incr(key, keepCount, tier.window, tier.max)
    const result = counted as StoreResult
    counted = null
    done(settle(tier, reply, result))
    return
  }
  (tier.redis as CounterStore).incr(key, (error, result) => {
    if (error !== null || result === null) done(tier.state.failures.record(error) ?? undefined)
    else done(settle(tier, reply, result))
  }, tier.window, tier.max)
}

function settle (tier: Tier, reply: FastifyReply, { current, ttl }: StoreResult): Error | undefined {
  const limit = { max: tier.max, remaining: Math.max(0, tier.max - current), resetSeconds: Math.max(1, Math.ceil(ttl / 1000)) }
  addLimitHeaders(reply, tier.quotedName, tier.policy, limit)
  if (tier.state.settings.legacyHeaders) addLegacyHeaders(reply, limit)
  if (current <= tier.max) return undefined
  // Retry-After equals the effective window: never earlier than it (draft-ietf-httpapi-ratelimit-headers §6).
  reply.header('retry-after', limit.resetSeconds)
  return new RateLimitedError(limit.resetSeconds)
}
