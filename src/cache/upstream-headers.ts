/**
 * The upstream's response headers as the cache policy reads them. undici hands over a field sent on several
 * lines as an array: list fields (Cache-Control, Vary, ...) are joined into one value, as RFC 9110 §5.3
 * allows; a singleton field sent twice (two ETags, two Expires) makes the response ambiguous, so it is not
 * stored (RFC 9111 §4.2.1 treats such freshness information as invalid).
 */
import type { UpstreamHeaders } from './request-state.js'

const SINGLETON_FIELDS = new Set(['etag', 'last-modified', 'expires', 'date', 'age', 'content-length', 'content-type', 'location', 'content-location'])

export type PolicyHeaders = Record<string, string | string[]>

/** One value per field (Set-Cookie aside, which the cache never stores), or null when not storable. */
export function policyHeaders (headers: UpstreamHeaders): PolicyHeaders | null {
  let joined: PolicyHeaders | null = null
  for (const name in headers) {
    const value = headers[name]
    if (!Array.isArray(value)) continue
    if (SINGLETON_FIELDS.has(name)) return null
    joined ??= { ...headers } as PolicyHeaders
    joined[name] = name === 'set-cookie' ? value : value.join(', ')
  }
  return joined ?? (headers as PolicyHeaders)
}
