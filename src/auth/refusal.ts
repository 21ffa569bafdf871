/**
 * Why a token was refused, as one of our stable codes: never fast-jwt's own code or message, which would
 * tell a caller which check to work around. The reason is kept for the gateway's debug log.
 */
import { AuthKeysUnavailableError, TokenExpiredError, TokenInvalidError } from '../errors.js'
import { KeySetUnavailable } from './key-set-unavailable.js'

export type TokenRefusal = InstanceType<typeof TokenInvalidError> | InstanceType<typeof TokenExpiredError> | InstanceType<typeof AuthKeysUnavailableError>

export function tokenRefusal (error: unknown): TokenRefusal {
  const { code, originalError } = error as { code?: unknown, originalError?: unknown }
  if (code === 'FAST_JWT_EXPIRED') return new TokenExpiredError()
  if (originalError instanceof KeySetUnavailable) return new AuthKeysUnavailableError()
  return new TokenInvalidError()
}

export function refusalReason (error: unknown): string {
  const { code } = error as { code?: unknown }
  return typeof code === 'string' ? code : 'unknown'
}
