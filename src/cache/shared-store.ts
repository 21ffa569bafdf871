/**
 * Where the response store every caching service shares hangs on the root instance (plugins/cache.ts puts
 * it there). Its own module, so the admin endpoints can look for it without loading the cache plugin and
 * its libraries into a gateway where no service caches.
 */
import type { MemoryResponseStore } from './memory-store.js'
import type { ResponseStore } from './store.js'

export const kResponseStore = Symbol('gatehouse.responseStore')

export interface SharedResponseStore {
  readonly store: ResponseStore
  /** The same store when it lives in this process (read synchronously). */
  readonly memory: MemoryResponseStore | null
  /** Marks this process's own background refreshes; never leaves the process. */
  readonly refreshSecret: string
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Present when some service caches (plugins/cache.ts). */
    [kResponseStore]?: SharedResponseStore
  }
}
