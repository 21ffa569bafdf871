/**
 * The cache's per-request fields, declared at the root (plugins/observability.ts) so every request object
 * has the same shape from the start, and the state a caching service's lookup keeps for one request.
 */
import type CachePolicy from 'http-cache-semantics'
import type { Fill } from './fills.js'
import type { StoredResource, StoredVariant } from './store.js'

export const kCacheState = Symbol('gatehouse.cacheState')
export const kUpstreamHeaders = Symbol('gatehouse.upstreamHeaders')

export type UpstreamHeaders = Readonly<Record<string, string | string[] | number | undefined>>

/** Per-request cache state, created for GET and HEAD requests of a caching service only. */
export interface CacheState {
  readonly key: string
  /** The request as the policy sees it: made only when a decision needs it (a plain fresh hit does not). */
  view: CachePolicy.Request | null
  /** Shared-cache rules (false: a partition of one verified subject, private-cache rules). */
  readonly shared: boolean
  /** A background refresh sent by this cache (stale-while-revalidate): never answered from the store. */
  readonly refresh: boolean
  /** The client sent its own validators (If-None-Match, If-Modified-Since). */
  readonly conditional: boolean
  /** What the store held for the key when the request came in (other variants are kept on write). */
  resource: StoredResource | null
  /** The stored response of this request's variant that could not be used as it is (stale). */
  stale: StoredVariant | null
  /** The upstream request carries this cache's validators for `stale`. */
  revalidating: boolean
  ifNoneMatch: string | undefined
  ifModifiedSince: string | undefined
  /** The request headers as forwarded upstream (src/proxy/forward.ts), once sent. */
  forwarded: Readonly<Record<string, string | string[] | undefined>> | null
  /** Released to look again once the fill it waited for ended. */
  waited: boolean
  fill: Fill | null
  /** A body is being written to the store; its end settles the fill. */
  storing: boolean
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by a caching service's lookup for GET and HEAD; null otherwise. */
    [kCacheState]: CacheState | null
    /** The upstream's response headers as forwarded, kept for the cache policy of a caching service. */
    [kUpstreamHeaders]: UpstreamHeaders | null
  }
}
