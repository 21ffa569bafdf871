/**
 * `gatehouse token`: a development token signed with the first HMAC secret of gateway.auth, so the README
 * walkthrough and the demo can call services that require auth. Production tokens come from an identity
 * provider; the gateway only verifies.
 */
import { SignJWT } from 'jose'
import type { AuthKeySettings } from '../config/types.js'

export interface DevTokenRequest {
  readonly subject: string
  readonly scope?: string
  /** Lifetime like "90s", "15m", "1h", "7d". */
  readonly ttl: string
  readonly audience?: string
  readonly issuer?: string
}

const TTL = /^(\d+)([smhd])$/
const SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 }

export function ttlSeconds (ttl: string): number | null {
  const match = TTL.exec(ttl)
  if (match === null) return null
  const seconds = Number(match[1]) * (SECONDS[match[2] as string] as number)
  return seconds > 0 ? seconds : null
}

/** The token, or an explanation of why none can be minted from this configuration. */
export async function mintDevToken (auth: AuthKeySettings | null, request: DevTokenRequest): Promise<{ token?: string, problem?: string }> {
  const seconds = ttlSeconds(request.ttl)
  if (seconds === null) return { problem: `--ttl must look like 90s, 15m, 1h or 7d, not "${request.ttl}"` }
  const secret = auth?.secrets[0]
  if (auth === null || secret === undefined) return { problem: 'gateway.auth has no HMAC secret to sign with (add gateway.auth.secrets)' }
  const alg = secret.algorithms[0] ?? 'HS256'
  const issuer = request.issuer ?? auth.issuers?.[0]
  const audience = request.audience ?? auth.audiences?.[0]
  const jwt = new SignJWT(request.scope === undefined ? {} : { scope: request.scope })
    .setProtectedHeader(secret.kid === null ? { alg, typ: 'JWT' } : { alg, typ: 'JWT', kid: secret.kid })
    .setSubject(request.subject)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + seconds)
  if (issuer !== undefined) jwt.setIssuer(issuer)
  if (audience !== undefined) jwt.setAudience(audience)
  return { token: await jwt.sign(new TextEncoder().encode(secret.secret)) }
}
