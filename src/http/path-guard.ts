/**
 * Paths that could mean something else to an upstream than to our router are refused before routing, so
 * `/users/../admin` or `/users/%2e%2e/admin` can never reach another service's upstream:
 * - dot-segments (RFC 3986 §5.2.4), also with a path parameter (`/..;/`, which Tomcat and Spring resolve);
 * - encoded "/", "\", "." and NUL, and those encoded twice (`%252e`) for upstreams that decode twice;
 * - raw backslashes.
 * One pass over the path, no allocation: it runs on every request.
 */
const SLASH = 0x2f
const DOT = 0x2e
const BACKSLASH = 0x5c
const PERCENT = 0x25
const QUESTION = 0x3f
const SEMICOLON = 0x3b

export function isUnsafePath (url: string): boolean {
  const length = url.length
  for (let i = 0; i < length; i++) {
    const char = url.charCodeAt(i)
    if (char === QUESTION) return false
    if (char === BACKSLASH) return true
    if (char === PERCENT && isEncodedSeparator(url, i + 1)) return true
    if (char === DOT && url.charCodeAt(i - 1) === SLASH && isDotSegment(url, i)) return true
  }
  return false
}

/** `%2e`, `%2f`, `%5c`, `%00` in either case, or the same behind `%25` (encoded twice). */
function isEncodedSeparator (url: string, at: number): boolean {
  const high = url.charCodeAt(at)
  const low = url.charCodeAt(at + 1) | 0x20 // lower-case a hex letter
  if (high === 0x32 && low === 0x35) return isEncodedSeparator(url, at + 2) // %25xx
  return (high === 0x32 && (low === 0x65 || low === 0x66)) || (high === 0x35 && low === 0x63) || (high === 0x30 && low === 0x30)
}

/** A "." or ".." that fills a whole segment (a `;param` may follow); `at` is the first dot, after a "/". */
function isDotSegment (url: string, at: number): boolean {
  const end = url.charCodeAt(at + 1) === DOT ? at + 2 : at + 1
  if (end >= url.length) return true
  const next = url.charCodeAt(end)
  return next === SLASH || next === QUESTION || next === SEMICOLON
}
