/**
 * The rate-limit state one gateway shares between its tiers: where counters live (this process, or the one
 * Redis client), the settings every tier uses, and the store-failure counts the admin endpoint reports.
 * It lives on the root instance under a Symbol, so service scopes and the admin scope see it.
 */
import type { Redis } from 'ioredis'
import type { GatewayRateLimitSettings } from '../config/types.js'
import type { Holding } from '../reload/carryover.js'
import type { StoreFailures } from './store-failures.js'

export const kRateLimit = Symbol('gatehouse.rateLimit')

export interface RateLimitState {
  readonly settings: GatewayRateLimitSettings
  /** The shared client when counters live in Redis, null for the per-process memory store. */
  readonly redis: Redis | null
  /** Prefix of every Redis key the tiers write (gateway.redis.keyPrefix). */
  readonly keyPrefix: string
  readonly failures: StoreFailures
  /** Memory counters outlive a reload through it (src/reload/carryover.ts). */
  readonly holding: Holding
}

export interface RateLimitStatus {
  readonly store: 'memory' | 'redis'
  /**
   * "ready" for memory; ioredis' connection status for Redis ("ready", "connecting", "reconnecting", ...);
   * "unused" when no tier is configured, so no connection is opened.
   */
  readonly storeStatus: string
  readonly failOpen: number
  readonly failClosed: number
}

export function rateLimitStatus (state: RateLimitState): RateLimitStatus {
  return {
    store: state.settings.store,
    storeStatus: state.redis !== null ? state.redis.status : state.settings.store === 'memory' ? 'ready' : 'unused',
    failOpen: state.failures.failOpen,
    failClosed: state.failures.failClosed
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    [kRateLimit]: RateLimitState
  }
}
