/**
 * Every error Gatehouse can answer or raise, in one table (the Fastify way: `@fastify/error`, stable codes).
 * Clients see these as `application/problem+json` (RFC 9457) with `code`; tests assert the code, not the text.
 * Messages never carry an upstream address, a stack or a library's internal message.
 */
import createError from '@fastify/error'
import type { ConfigProblem } from './config/problems.js'
import { formatProblems } from './config/problems.js'

// Client mistakes (4xx)
export const BadPathError = createError('GATEHOUSE_BAD_PATH',
  'The request path contains a dot-segment, a backslash or an encoded "/", "\\" or "."', 400)
export const BadRequestError = createError('GATEHOUSE_BAD_REQUEST', 'The request is malformed', 400)
export const WebSocketDisabledError = createError('GATEHOUSE_WEBSOCKET_DISABLED',
  'This service does not accept WebSocket upgrades', 400)
export const IpForbiddenError = createError('GATEHOUSE_IP_FORBIDDEN', 'Requests from this address are not allowed', 403)
// Access control (issue 3). 401s also carry `WWW-Authenticate: Bearer` (RFC 6750 §3).
export const AuthRequiredError = createError('GATEHOUSE_AUTH_REQUIRED', 'This service requires a bearer token', 401)
export const TokenInvalidError = createError('GATEHOUSE_TOKEN_INVALID', 'The bearer token is not valid', 401)
export const TokenExpiredError = createError('GATEHOUSE_TOKEN_EXPIRED', 'The bearer token has expired', 401)
export const InsufficientScopeError = createError('GATEHOUSE_INSUFFICIENT_SCOPE',
  'The bearer token does not grant access to this resource', 403)
export const RateLimitedError = createError('GATEHOUSE_RATE_LIMITED', 'Too many requests; retry after %s seconds', 429)
export const RateLimitUnavailableError = createError('GATEHOUSE_RATE_LIMIT_UNAVAILABLE',
  'The rate limiter cannot be reached, and this gateway refuses requests it cannot count', 503)
export const AuthKeysUnavailableError = createError('GATEHOUSE_AUTH_KEYS_UNAVAILABLE',
  'The keys to verify the bearer token cannot be fetched right now', 503)
// Admin endpoints (issue 4): the purge endpoint takes a bearer token and exactly one target.
export const AdminTokenInvalidError = createError('GATEHOUSE_ADMIN_TOKEN_INVALID',
  'This endpoint requires the configured admin bearer token', 401)
export const PurgeTargetError = createError('GATEHOUSE_PURGE_TARGET',
  'Name exactly one of the query parameters url, prefix or tag; url and prefix start with "/"', 400)
export const NotFoundError = createError('GATEHOUSE_NOT_FOUND', 'No service is routed at this path', 404)
export const BodyTooLargeError = createError('GATEHOUSE_BODY_TOO_LARGE',
  'The request body is larger than the %s bytes this service accepts', 413)
export const HeadersTooLargeError = createError('GATEHOUSE_HEADERS_TOO_LARGE',
  'The request headers are larger than the gateway accepts', 431)
export const RequestTimeoutError = createError('GATEHOUSE_REQUEST_TIMEOUT',
  'The request was not received in time', 408)

// Upstream faults (502/503/504)
export const UpstreamUnreachableError = createError('GATEHOUSE_UPSTREAM_UNREACHABLE',
  'The upstream service could not be reached', 502)
export const UpstreamResetError = createError('GATEHOUSE_UPSTREAM_RESET',
  'The upstream service closed the connection before answering', 502)
export const UpstreamBadResponseError = createError('GATEHOUSE_UPSTREAM_BAD_RESPONSE',
  'The upstream service sent an invalid response', 502)
export const UpstreamTlsError = createError('GATEHOUSE_UPSTREAM_TLS',
  'The upstream service\'s TLS certificate could not be verified', 502)
export const UpstreamTimeoutError = createError('GATEHOUSE_UPSTREAM_TIMEOUT',
  'The upstream service did not answer in time', 504)
export const NoUpstreamError = createError('GATEHOUSE_NO_UPSTREAM',
  'No upstream is available for this service', 503)
export const NotReadyError = createError('GATEHOUSE_NOT_READY', 'The gateway is not listening yet', 503)
export const ShuttingDownError = createError('GATEHOUSE_SHUTTING_DOWN',
  'The gateway is shutting down', 503)

// Our own bugs: the only 500, with a generic message.
export const InternalError = createError('GATEHOUSE_INTERNAL', 'The gateway failed to handle the request', 500)

// Configuration (not HTTP): refused with every problem and its JSON path.
const ConfigInvalidBase = createError('GATEHOUSE_CONFIG_INVALID', '%s is invalid:\n%s')

export class ConfigInvalidError extends ConfigInvalidBase {
  readonly problems: readonly ConfigProblem[]

  constructor (source: string, problems: readonly ConfigProblem[]) {
    super(source, formatProblems(problems))
    this.problems = problems
  }
}
