/**
 * Every key the gateway verifies tokens with (HMAC secrets, PEM public keys, remote key sets), and the one
 * lookup fast-jwt calls for a token it has not verified before: given the token's header and (unverified)
 * payload, which key may verify it? The answer is pinned to the algorithm: a secret only for the HS
 * algorithms it lists, a public key only for its own type, and `none` never.
 */
import type { FastifyBaseLogger } from 'fastify'
import type { AuthKeySettings } from '../config/types.js'
import { algorithmsOfPublicKey, isHmacAlgorithm } from './algorithms.js'
import type { RemoteKeySet } from './jwks.js'

interface LocalKey {
  readonly material: string | Buffer
  readonly algorithms: readonly string[]
  readonly kid: string | null
}

/** The token names no key we have; the message never echoes token content. */
export class NoMatchingKey extends Error {}

const MAX_KID_LENGTH = 256

export class KeyRing {
  private readonly secrets: readonly LocalKey[]
  private readonly publicKeys: readonly LocalKey[]
  private readonly remoteSets: readonly RemoteKeySet[]

  /** `RemoteSets` is src/auth/jwks.ts's class, loaded by the caller only when the settings list key sets (it pulls in jose). */
  constructor (settings: AuthKeySettings, log: FastifyBaseLogger, RemoteSets: typeof RemoteKeySet | null) {
    this.secrets = settings.secrets.map(({ secret, algorithms, kid }) => ({ material: Buffer.from(secret, 'utf8'), algorithms, kid }))
    this.publicKeys = settings.publicKeys.map(({ pem, kid }) => ({ material: pem, algorithms: algorithmsOfPublicKey(pem), kid }))
    if (settings.jwks.length > 0 && RemoteSets === null) throw new Error('remote key sets are configured: pass RemoteKeySet')
    this.remoteSets = RemoteSets === null ? [] : settings.jwks.map((source) => new RemoteSets(source, log))
  }

  async start (): Promise<void> {
    await Promise.all(this.remoteSets.map(async (set) => set.start()))
  }

  stop (): void {
    for (const set of this.remoteSets) set.stop()
  }

  /** fast-jwt's `key` callback: the secret or PEM for this token, or a rejection. */
  readonly keyFor = async ({ header, payload }: { header: Record<string, unknown>, payload: unknown }): Promise<string | Buffer> => {
    const { alg, kid } = header
    if (typeof alg !== 'string' || alg === 'none') throw new NoMatchingKey('unsupported algorithm')
    // kid is only ever compared with configured ids: never a path, a URL or a query (RFC 8725 §3.10).
    if (kid !== undefined && (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH)) {
      throw new NoMatchingKey('malformed kid')
    }
    if (isHmacAlgorithm(alg)) return pickLocal(this.secrets, alg, kid)
    const remote = this.remoteSetFor(payload)
    if (remote !== null) return remote.pemFor(alg, kid)
    return pickLocal(this.publicKeys, alg, kid)
  }

  /** The remote set whose configured issuers include the token's `iss` (the token never names a URL). */
  private remoteSetFor (payload: unknown): RemoteKeySet | null {
    const iss = (payload as { iss?: unknown } | null)?.iss
    if (typeof iss !== 'string') return null
    for (const set of this.remoteSets) if (set.issuers.has(iss)) return set
    return null
  }
}

/** A key configured with a kid verifies only tokens with that kid; a key without one, any token of its algorithm. */
function pickLocal (keys: readonly LocalKey[], alg: string, kid: string | undefined): string | Buffer {
  const candidates = keys.filter((key) => key.algorithms.includes(alg))
  const chosen = (kid === undefined ? undefined : candidates.find((key) => key.kid === kid)) ??
    candidates.find((key) => key.kid === null)
  if (chosen === undefined) throw new NoMatchingKey('no key for this algorithm and kid')
  return chosen.material
}
