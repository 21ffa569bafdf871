/**
 * The response cache (issue 4).
 * - `responseStorePlugin` (root): the store every caching service shares — the process's memory, bounded in
 *   bytes, or Redis so that every gateway process serves one set of entries. The store speaks the
 *   abstract-cache protocol and is handed to @fastify/caching as its `cache`, registered in a sealed scope
 *   of its own: its onRequest hook answers 304 to any If-None-Match matching any ETag it ever stored,
 *   whatever the URL or caller (design.md §4), so it must never see a proxied request.
 * - `serviceCache` (per service, after auth and rate limits): the lookup, invalidation and fill-settling
 *   hooks of the service's ResponseCache; the proxy sends upstream answers through the same object.
 */
import { randomBytes } from 'node:crypto'
import fastifyCaching from '@fastify/caching'
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { MemoryResponseStore } from '../src/cache/memory-store.js'
import type { ResponseCache } from '../src/cache/response-cache.js'
import type { RedisSettings } from '../src/config/types.js'
import { nothingToClose } from '../src/reload/carryover.js'
import { kHolding } from '../src/symbols.js'
import { kResponseStore, type SharedResponseStore } from '../src/cache/shared-store.js'

export { kResponseStore, type SharedResponseStore } from '../src/cache/shared-store.js'

async function responseStore (app: FastifyInstance): Promise<void> {
  const { config } = app.gatehouse
  if (!config.services.some((service) => service.cache !== null)) return
  const settings = config.cache
  // Kept across a reload that leaves the store's settings alone: entries survive, and so does the secret
  // that marks this process's background refreshes (a refresh may be on its way through the old instance).
  const shared = settings.store === 'redis' && config.redis !== null
    ? await redisResponseStore(app, config.redis)
    : app[kHolding].acquire('response-store:memory', settings.maxBytes, () => memoryResponseStore(settings.maxBytes), nothingToClose)
  app.decorate(kResponseStore, shared)
  await app.register(async function sealedCachingScope (sealed) {
    await sealed.register(fastifyCaching, { cache: shared.store as unknown as NonNullable<Parameters<typeof fastifyCaching>[1]>['cache'] })
  })
}

function memoryResponseStore (maxBytes: number): SharedResponseStore {
  const memory = new MemoryResponseStore(maxBytes)
  return { store: memory, memory, refreshSecret: refreshSecret() }
}

async function redisResponseStore (app: FastifyInstance, redis: RedisSettings): Promise<SharedResponseStore> {
  // Loaded only when used, as ioredis is (plugins/rate-limit.ts).
  const { RedisResponseStore } = await import('../src/cache/redis-store.js')
  const { heldRedisClient } = await import('../src/redis/client.js')
  // A connection of its own: 20 KB bodies never queue in front of the rate limiter's small commands.
  const client = await heldRedisClient(app[kHolding], 'redis:response-store', redis, app.log)
  return app[kHolding].acquire('response-store:redis', redis, () =>
    ({ store: new RedisResponseStore(client, redis.keyPrefix), memory: null, refreshSecret: refreshSecret() }), nothingToClose)
}

function refreshSecret (): string {
  return randomBytes(24).toString('hex')
}

export const responseStorePlugin = fp(responseStore, { name: 'gatehouse-response-store', fastify: '5.x' })

export interface ServiceCacheOptions {
  readonly cache: ResponseCache
}

async function serviceCacheHooks (scope: FastifyInstance, { cache }: ServiceCacheOptions): Promise<void> {
  cache.attach(scope)
  scope.addHook('onRequest', cache.lookup)
  scope.addHook('onSend', cache.invalidate)
}

/** Not encapsulated: the hooks belong to the service's scope, so they run for the proxy routes registered after. */
export const serviceCache = fp(serviceCacheHooks, { name: 'gatehouse-service-cache', fastify: '5.x' })
