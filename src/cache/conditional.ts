/**
 * A client's own conditional GET/HEAD evaluated against a stored response (RFC 9110 §13.1.2, §13.1.3,
 * §13.2.2): If-None-Match with weak comparison, else If-Modified-Since against Last-Modified.
 */
import type { PolicyFacts } from './policy-facts.js'

type RequestHeaders = Readonly<Record<string, string | string[] | undefined>>

export function hasConditionals (headers: RequestHeaders): boolean {
  return headers['if-none-match'] !== undefined || headers['if-modified-since'] !== undefined
}

/** The headers without the client's validators, which the cache replaces with its own (RFC 9111 §4.3.2). */
export function withoutConditionals<T extends RequestHeaders> (headers: T): T {
  const { 'if-none-match': _ifNoneMatch, 'if-modified-since': _ifModifiedSince, ...rest } = headers
  return rest as T
}

/** True when the stored response satisfies the client's validators, so the answer is 304. */
export function notModified (headers: RequestHeaders, stored: PolicyFacts): boolean {
  const ifNoneMatch = headers['if-none-match']
  if (typeof ifNoneMatch === 'string') {
    if (stored.etag === null) return false
    if (ifNoneMatch.trim() === '*') return true
    const current = opaqueTag(stored.etag)
    return ifNoneMatch.split(',').some((candidate) => opaqueTag(candidate) === current)
  }
  const ifModifiedSince = headers['if-modified-since']
  if (typeof ifModifiedSince !== 'string' || stored.lastModified === null) return false
  const since = Date.parse(ifModifiedSince)
  const modified = Date.parse(stored.lastModified)
  return Number.isFinite(since) && Number.isFinite(modified) && modified <= since
}

/** Weak comparison (RFC 9110 §8.8.3.2): the opaque tags match whether or not either is weak. */
function opaqueTag (tag: string): string {
  const trimmed = tag.trim()
  return trimmed.startsWith('W/') ? trimmed.slice(2) : trimmed
}
