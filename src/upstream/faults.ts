/**
 * Upstream failures as undici reports them → Gatehouse errors (502/503/504).
 * The library's own mapping answers 500 for resets and refusals and puts the upstream address in the
 * message (design.md §4); here every fault gets a named code and a message with no address in it.
 */
import {
  UpstreamBadResponseError,
  UpstreamResetError,
  UpstreamTimeoutError,
  UpstreamTlsError,
  UpstreamUnreachableError
} from '../errors.js'
import type { GatehouseErrorLike } from '../http/problem.js'

type UpstreamFault = () => GatehouseErrorLike

const TIMEOUT: UpstreamFault = () => new UpstreamTimeoutError()
const UNREACHABLE: UpstreamFault = () => new UpstreamUnreachableError()
const RESET: UpstreamFault = () => new UpstreamResetError()
const TLS: UpstreamFault = () => new UpstreamTlsError()

const FAULT_BY_CODE: ReadonlyMap<string, UpstreamFault> = new Map([
  ['UND_ERR_CONNECT_TIMEOUT', TIMEOUT],
  ['UND_ERR_HEADERS_TIMEOUT', TIMEOUT],
  ['UND_ERR_BODY_TIMEOUT', TIMEOUT],
  ['FST_REPLY_FROM_GATEWAY_TIMEOUT', TIMEOUT],
  ['FST_REPLY_FROM_TIMEOUT', TIMEOUT],
  ['ETIMEDOUT', TIMEOUT],
  ['ECONNREFUSED', UNREACHABLE],
  ['ENOTFOUND', UNREACHABLE],
  ['EAI_AGAIN', UNREACHABLE],
  ['EHOSTUNREACH', UNREACHABLE],
  ['ENETUNREACH', UNREACHABLE],
  ['EADDRNOTAVAIL', UNREACHABLE],
  ['ECONNRESET', RESET],
  ['EPIPE', RESET],
  ['UND_ERR_SOCKET', RESET],
  ['UND_ERR_CLOSED', RESET],
  ['DEPTH_ZERO_SELF_SIGNED_CERT', TLS],
  ['SELF_SIGNED_CERT_IN_CHAIN', TLS],
  ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', TLS],
  ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', TLS],
  ['CERT_HAS_EXPIRED', TLS],
  ['ERR_TLS_CERT_ALTNAME_INVALID', TLS],
  ['ERR_SSL_WRONG_VERSION_NUMBER', TLS]
  // Any other ERR_SSL_* (an alert from the upstream: handshake failure, certificate required...) is TLS too.
])

/** Codes a connection-level retry may follow: nothing reached the upstream application, or nothing came back. */
const RETRYABLE_CONNECTION_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE'])

/** The `code`s along an error's cause chain (undici and Node wrap the system error). */
function * codesOf (error: unknown): Generator<{ code: string, cause: Error }> {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    const code = (cause as NodeJS.ErrnoException).code
    if (typeof code === 'string') yield { code, cause }
  }
}

/**
 * The Gatehouse error for a failed proxied request. Our own errors (a body over the limit, counted on the
 * stream) pass through unchanged; anything unrecognised from the upstream side is still a 502, never a 500.
 */
export function upstreamFault (error: Error): GatehouseErrorLike {
  for (const { code, cause } of codesOf(error)) {
    if (code.startsWith('GATEHOUSE_')) return { code, message: cause.message, statusCode: (cause as { statusCode?: number }).statusCode ?? 502 }
    const fault = FAULT_BY_CODE.get(code) ?? (code.startsWith('ERR_SSL_') ? TLS : undefined)
    if (fault) return fault()
  }
  return new UpstreamBadResponseError()
}

// The upstream was never reached: it is down (or unreachable from here), not misbehaving.
const CONNECT_FAILURE_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH',
  'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'])

export function isConnectFailure (error: Error): boolean {
  for (const { code } of codesOf(error)) {
    if (CONNECT_FAILURE_CODES.has(code)) return true
  }
  return false
}

export function retryableConnectionCode (error: Error | null | undefined): string | undefined {
  for (const { code } of codesOf(error)) {
    if (RETRYABLE_CONNECTION_CODES.has(code)) return code
  }
  return undefined
}
