/**
 * The cache's per-request fields, declared at the root (plugins/observability.ts) so every request object
 * has the same shape from the start.
 */
import type { CacheState } from './response-cache.js'

export const kCacheState = Symbol('gatehouse.cacheState')
export const kUpstreamHeaders = Symbol('gatehouse.upstreamHeaders')

export type UpstreamHeaders = Readonly<Record<string, string | string[] | number | undefined>>

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by a caching service's lookup for GET and HEAD; null otherwise. */
    [kCacheState]: CacheState | null
    /** The upstream's response headers as forwarded, kept for the cache policy of a caching service. */
    [kUpstreamHeaders]: UpstreamHeaders | null
  }
}
