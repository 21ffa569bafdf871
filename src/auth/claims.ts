/**
 * Claim checks fast-jwt leaves to us (RFC 7519 §4.1, RFC 8725 §3.9): registered claims of the wrong type
 * (an `iss` list would otherwise pass an issuer check when one entry matches), and `iat` in the future.
 */
export function hasWellFormedClaims (claims: unknown, now: number, clockTolerance: number): claims is Record<string, unknown> {
  if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) return false
  const { iss, sub, aud, iat } = claims as Record<string, unknown>
  if (iss !== undefined && typeof iss !== 'string') return false
  if (sub !== undefined && typeof sub !== 'string') return false
  if (aud !== undefined && typeof aud !== 'string' && !(Array.isArray(aud) && aud.every((item) => typeof item === 'string'))) return false
  if (iat !== undefined && (typeof iat !== 'number' || iat * 1000 > now + clockTolerance)) return false
  return true
}
