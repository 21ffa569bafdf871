/**
 * The counter stores of @fastify/rate-limit, used directly: its LocalStore (an LRU of fixed windows) and its
 * RedisStore (one Lua script: INCR + PEXPIRE, atomic across gateway processes). Its request handler is
 * not used: per tier and request it awaits the key generator, builds `request.routeOptions` and wraps
 * the store call in promises (about 3 µs per tier on the bench), and the memory store answers
 * synchronously, so a tier on it needs no promise at all.
 */
import { createRequire } from 'node:module'
import type { Redis } from 'ioredis'

export interface StoreResult {
  /** Requests counted in the current window, this one included. */
  readonly current: number
  /** Milliseconds until the window resets. */
  readonly ttl: number
}

export type StoreCallback = (error: Error | null, result: StoreResult | null) => void

export interface CounterStore {
  incr (key: string, callback: StoreCallback, windowMs: number, max: number): void
}

type LocalStoreClass = new (continueExceeding: boolean, exponentialBackoff: boolean, capacity: number) => CounterStore
type RedisStoreClass = new (continueExceeding: boolean, exponentialBackoff: boolean, redis: Redis, keyPrefix: string) => CounterStore

const require = createRequire(import.meta.url)
const LocalStore = require('@fastify/rate-limit/store/LocalStore.js') as LocalStoreClass
const RedisStore = require('@fastify/rate-limit/store/RedisStore.js') as RedisStoreClass

/** At most `capacity` counters, least recently used dropped; `incr` calls back before it returns. */
export function memoryStore (capacity: number): CounterStore {
  return new LocalStore(false, false, capacity)
}

/** Counters under `keyPrefix` in Redis, shared by every gateway process that uses the same Redis. */
export function redisStore (redis: Redis, keyPrefix: string): CounterStore {
  return new RedisStore(false, false, redis, keyPrefix)
}
