/**
 * The Cache-Status response field (RFC 9211): how this cache handled the request, as one structured-field
 * list member named "gatehouse". The values a request can end with are fixed, so they are built once.
 */
export const CACHE_STATUS_HEADER = 'cache-status'

export const CacheStatus = Object.freeze({
  /** Served from a fresh stored response. */
  hit: 'gatehouse; hit',
  /** Served stale (stale-while-revalidate) while a background request refreshes it. */
  staleWhileRevalidate: 'gatehouse; hit; detail=stale-while-revalidate',
  /** Served stale because the upstream failed (stale-if-error, RFC 5861 §4). */
  staleIfError: 'gatehouse; hit; detail=stale-if-error',
  /** A conditional request answered 304 from a fresh stored response. */
  notModified: 'gatehouse; hit; detail=not-modified',
  /** Nothing stored matched; the response from upstream was stored. */
  missStored: 'gatehouse; fwd=miss; stored',
  /** Nothing stored matched; the response from upstream could not be stored. */
  miss: 'gatehouse; fwd=miss',
  /** A stored response was stale; the upstream confirmed it (304) and it was served refreshed. */
  revalidated: 'gatehouse; fwd=stale; fwd-status=304; stored',
  /** A stored response was stale; the upstream sent a new one, which was stored. */
  staleReplacedStored: 'gatehouse; fwd=stale; stored',
  /** A stored response was stale; the upstream sent a new one that could not be stored. */
  staleReplaced: 'gatehouse; fwd=stale',
  /** Hit-for-pass: this URL's last answer could not be stored, so for a while it goes upstream unexamined. */
  pass: 'gatehouse; fwd=miss; detail=pass'
})

/** `ttl` (RFC 9211 §2.7): seconds of freshness left, negative once stale. */
export function withTtl (status: string, ttlSeconds: number): string {
  return `${status}; ttl=${Math.round(ttlSeconds)}`
}
