/**
 * One remote JSON Web Key Set, on jose's `createRemoteJWKSet`: keys cached, the set refetched in the
 * background every `refreshInterval`, and a token with an unknown `kid` refetches it at most once per
 * `cooldown` (so a key rotation is picked up at once, while a flood of invented kids costs one fetch).
 * A failed fetch starts the cooldown too (jose's own cooldown starts only after a success): while the
 * identity provider is down, tokens are answered from the keys already known, or with 503 at once when
 * none are, instead of each one waiting for a fetch that is likely to fail again.
 * The URL comes from services.json only; a token's `jku`, `x5u` or `iss` never chooses where keys come from.
 */
import { KeyObject, type webcrypto } from 'node:crypto'
import { createLocalJWKSet, createRemoteJWKSet, errors as joseErrors, type JSONWebKeySet } from 'jose'
import type { FastifyBaseLogger } from 'fastify'
import type { AuthKeySettings } from '../config/types.js'
import { KeySetUnavailable } from './key-set-unavailable.js'

type JwksSettings = AuthKeySettings['jwks'][number]

/** The key set could not be fetched: not the token's fault (503, not 401). */

export class RemoteKeySet {
  readonly issuers: ReadonlySet<string>
  private readonly keys: ReturnType<typeof createRemoteJWKSet>
  private readonly pemByKey = new WeakMap<object, string>()
  private refreshTimer: NodeJS.Timeout | null = null
  private failedAt = Number.NEGATIVE_INFINITY
  private knownKeys: { readonly set: JSONWebKeySet, readonly lookup: ReturnType<typeof createLocalJWKSet> } | null = null

  constructor (private readonly settings: JwksSettings, private readonly log: FastifyBaseLogger) {
    this.issuers = new Set(settings.issuers)
    // Freshness is the background refresh's job: a request never waits for a scheduled refetch.
    this.keys = createRemoteJWKSet(new URL(settings.url), {
      cooldownDuration: settings.cooldown,
      cacheMaxAge: Number.POSITIVE_INFINITY,
      timeoutDuration: settings.timeout
    })
  }

  /** Fetches the set once (a failure is logged, not fatal) and keeps it fresh until `stop()`. */
  async start (): Promise<void> {
    await this.refresh()
    this.refreshTimer = setInterval(() => { this.refresh().catch(() => {}) }, this.settings.refreshInterval)
    this.refreshTimer.unref()
  }

  stop (): void {
    if (this.refreshTimer !== null) clearInterval(this.refreshTimer)
    this.refreshTimer = null
  }

  /** The PEM of the key for this header; throws when there is none (or the set cannot be fetched). */
  async pemFor (alg: string, kid: string | undefined): Promise<string> {
    const header = kid === undefined ? { alg } : { alg, kid }
    let key: object
    if (Date.now() - this.failedAt < this.settings.cooldown) {
      key = await this.knownKeyFor(header)
    } else {
      try {
        key = await this.keys(header)
      } catch (error) {
        if (isNoKeyForHeader(error)) throw error
        this.recordFailure(error)
        throw new KeySetUnavailable('the key set could not be fetched')
      }
    }
    let pem = this.pemByKey.get(key)
    if (pem === undefined) {
      // fast-jwt verifies with PEM text; jose hands out WebCrypto keys, one object per JWK, so this converts once.
      pem = KeyObject.from(key as webcrypto.CryptoKey).export({ type: 'spki', format: 'pem' }).toString()
      this.pemByKey.set(key, pem)
    }
    return pem
  }

  /** A key from the set as last fetched, without fetching; 503 when no fetch ever succeeded. */
  private async knownKeyFor (header: { alg: string, kid?: string }): Promise<object> {
    const set = this.keys.jwks()
    if (set === undefined) throw new KeySetUnavailable('the key set could not be fetched')
    if (this.knownKeys?.set !== set) this.knownKeys = { set, lookup: createLocalJWKSet(set) }
    return this.knownKeys.lookup(header)
  }

  private recordFailure (error: unknown): void {
    this.failedAt = Date.now()
    const { name, message } = error as Error
    this.log.warn({ jwks: this.settings.url, err: { type: name, message } }, 'JWKS fetch failed; using the keys already known until the cooldown ends')
  }

  private async refresh (): Promise<void> {
    try {
      await this.keys.reload()
    } catch (error) {
      this.recordFailure(error)
    }
  }
}

function isNoKeyForHeader (error: unknown): boolean {
  return error instanceof joseErrors.JWKSNoMatchingKey || error instanceof joseErrors.JWKSMultipleMatchingKeys ||
    error instanceof joseErrors.JOSENotSupported
}
