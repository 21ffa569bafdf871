/**
 * The bearer token of a request (RFC 6750 §2.1), checked for shape before any parsing: size-capped, one
 * Authorization header only, JWS compact serialization (three base64url segments).
 */
import type { FastifyRequest } from 'fastify'
import { TokenInvalidError } from '../errors.js'

const BEARER_PREFIX = 'bearer '
const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

/** The token, or null when the request carries no bearer credentials; throws TokenInvalidError when malformed. */
export function bearerToken (request: FastifyRequest, maxTokenBytes: number): string | null {
  const header = request.headers.authorization
  if (header === undefined) return null
  if (header.length > maxTokenBytes + BEARER_PREFIX.length + 16) throw new TokenInvalidError()
  // Node keeps only the first of several Authorization headers; which one a backend would read is anyone's guess.
  if (authorizationCount(request.raw.rawHeaders) > 1) throw new TokenInvalidError()
  // The scheme is case-insensitive (RFC 9110 §11.1); another scheme (Basic...) is no bearer token.
  if (header.length <= BEARER_PREFIX.length || header.slice(0, BEARER_PREFIX.length).toLowerCase() !== BEARER_PREFIX) return null
  const token = header.slice(BEARER_PREFIX.length).trim()
  if (token.length > maxTokenBytes || !JWS_COMPACT.test(token)) throw new TokenInvalidError()
  return token
}

function authorizationCount (rawHeaders: readonly string[]): number {
  let count = 0
  for (let index = 0; index < rawHeaders.length; index += 2) {
    const name = rawHeaders[index] as string
    if (name.length === 13 && name.toLowerCase() === 'authorization') count++
  }
  return count
}
