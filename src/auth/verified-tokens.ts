/**
 * Tokens already verified, keyed by the token text: a repeat costs one map lookup instead of fast-jwt's
 * SHA-256 of the token, its promise and @fastify/jwt's per-call option merging (about 5 µs of the ~20 µs
 * the access stack cost per request on the bench). Only verified tokens are kept, each for the time it is
 * valid (`nbf` to `exp`, with the clock tolerance) and never longer than `maxAge`, so a key that is
 * rotated out stops working for cached tokens within that time. Bounded: least recently used out first.
 */
import { LruMap } from 'toad-cache'
import type { Principal } from './principal.js'

interface VerifiedToken {
  readonly principal: Principal
  readonly notBefore: number
  readonly expiresAt: number
}

/** fast-jwt's default cacheTTL: how long a token is trusted without a fresh signature check. */
const MAX_AGE = 600_000

export class VerifiedTokens {
  private readonly entries: LruMap<VerifiedToken> | null

  constructor (capacity: number, private readonly clockTolerance: number) {
    this.entries = capacity > 0 ? new LruMap<VerifiedToken>(capacity) : null
  }

  /** The principal of a token verified before and still valid at `now`, else undefined. */
  get (token: string, now: number): Principal | undefined {
    const entry = this.entries?.get(token)
    if (entry === undefined) return undefined
    if (now > entry.expiresAt) {
      this.entries?.delete(token)
      return undefined
    }
    return now >= entry.notBefore ? entry.principal : undefined
  }

  remember (token: string, principal: Principal, now: number): void {
    if (this.entries === null) return
    const { nbf, exp } = principal.claims
    const tolerance = this.clockTolerance
    this.entries.set(token, {
      principal,
      notBefore: typeof nbf === 'number' ? nbf * 1000 - tolerance : 0,
      expiresAt: Math.min(now + MAX_AGE, typeof exp === 'number' ? exp * 1000 + tolerance : Number.POSITIVE_INFINITY)
    })
  }
}
