/**
 * Keys and algorithms are pinned together (RFC 8725 §3.1): a key verifies only the algorithms of its own
 * type, so an HS token can never be checked against an RSA public key used as an HMAC secret, and `none`
 * is no algorithm at all.
 */
import { createPublicKey } from 'node:crypto'

const RSA = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']
const RSA_PSS = ['PS256', 'PS384', 'PS512']
const EC_BY_CURVE: Readonly<Record<string, readonly string[]>> = {
  prime256v1: ['ES256'],
  secp384r1: ['ES384'],
  secp521r1: ['ES512']
}

/** The JWS algorithms a PEM public key verifies (empty when the key is of no JWS type). */
export function algorithmsOfPublicKey (pem: string): readonly string[] {
  const key = createPublicKey(pem)
  switch (key.asymmetricKeyType) {
    case 'rsa': return RSA
    case 'rsa-pss': return RSA_PSS
    case 'ec': return EC_BY_CURVE[key.asymmetricKeyDetails?.namedCurve ?? ''] ?? []
    case 'ed25519': return ['EdDSA']
    default: return []
  }
}

export function isHmacAlgorithm (alg: string): boolean {
  return alg === 'HS256' || alg === 'HS384' || alg === 'HS512'
}
