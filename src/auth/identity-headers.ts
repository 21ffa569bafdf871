/**
 * Identity for the upstream: headers set from verified claims (e.g. `sub` → X-User-Id). The client's own
 * copies of these headers are always dropped (src/proxy/headers.ts), so only the gateway can set them.
 */
import type { IncomingHttpHeaders } from 'node:http'
import { SAFE_HEADER_VALUE, type Principal } from './principal.js'

export type IdentityHeaderPairs = ReadonlyArray<readonly [header: string, claim: string]>

export function writeIdentityHeaders (out: IncomingHttpHeaders, principal: Principal | null, pairs: IdentityHeaderPairs): void {
  if (principal === null) return
  for (const [header, claim] of pairs) {
    const value = claim === 'scope' ? principal.scopeList : headerValue(principal.claims[claim])
    // Unset rather than half-set: the client's own copy was dropped, so the upstream sees no such header.
    if (value !== null) out[header] = value
  }
}

function headerValue (claim: unknown): string | null {
  if (typeof claim === 'number' || typeof claim === 'boolean') return String(claim)
  if (Array.isArray(claim)) {
    const items = claim.filter((item) => typeof item === 'string' || typeof item === 'number')
    return items.length === claim.length ? headerValue(items.join(',')) : null
  }
  return typeof claim === 'string' && SAFE_HEADER_VALUE.test(claim) ? claim : null
}
