/**
 * How the cache sees a request: its key (the public URL, plus the verified subject for a service that
 * partitions private answers) and the request http-cache-semantics evaluates.
 *
 * The view's headers are a copy with
 * - `host` fixed: routing never depends on Host, so neither does a stored answer;
 * - `accept-encoding: identity` when the gateway compresses for this service: it asks the upstream for the
 *   identity body, stores that once, and negotiates encodings itself (issue 4), so every client selects the
 *   same stored variant;
 * - the usual negotiation fields (accept, accept-encoding, accept-language) with whitespace and case
 *   normalized, so `gzip,br` and `gzip, br` select the same variant (RFC 9111 §4.1 allows normalizing).
 */
import type CachePolicy from 'http-cache-semantics'
import type { FastifyRequest } from 'fastify'

const POLICY_HOST = 'gatehouse'
const NORMALIZED_FIELDS = ['accept', 'accept-encoding', 'accept-language'] as const

export function cacheKey (url: string, subject: string | null): string {
  // A request target never contains a space, so the partition cannot be forged through the URL.
  return subject === null ? url : `${url} ${subject}`
}

export function policyRequest (request: FastifyRequest, identityOnly: boolean): CachePolicy.Request {
  const headers: Record<string, string | string[] | undefined> = { ...request.headers, host: POLICY_HOST }
  for (const field of NORMALIZED_FIELDS) {
    const value = headers[field]
    if (typeof value === 'string') headers[field] = value.toLowerCase().replace(/\s*,\s*/g, ', ').trim()
  }
  if (identityOnly) headers['accept-encoding'] = 'identity'
  // HEAD is answered from a stored GET (RFC 9110 §9.3.2 allows it), so both look the same to the policy.
  return { method: 'GET', url: request.url, headers: headers as CachePolicy.Headers }
}

/** Request fields the policy reads besides the Vary-selected ones (RFC 9111 §3, §3.5, §5.2.1). */
const POLICY_FIELDS = ['host', 'cache-control', 'pragma'] as const
/** Vary on these would put one caller's credentials into a shared store: such answers are not stored. */
export const CREDENTIAL_FIELDS = new Set(['authorization', 'cookie', 'proxy-authorization'])

/**
 * The request a stored policy keeps: only what the policy reads, so no token, cookie or other header of
 * the caller is written to the store (http-cache-semantics keeps every request header when a response
 * has Vary). Authorization is kept as presence only.
 */
export function storedRequest (view: CachePolicy.Request, vary: string | string[] | number | undefined): CachePolicy.Request {
  const headers: Record<string, string | string[] | undefined> = {}
  for (const field of POLICY_FIELDS) headers[field] = view.headers[field]
  if (view.headers.authorization !== undefined) headers.authorization = 'present'
  if (typeof vary === 'string') {
    for (const field of vary.toLowerCase().split(',')) {
      const name = field.trim()
      if (name !== '' && !CREDENTIAL_FIELDS.has(name)) headers[name] = view.headers[name]
    }
  }
  return { method: view.method, url: view.url, headers: headers as CachePolicy.Headers }
}

export function variesOnCredentials (vary: string | string[] | number | undefined): boolean {
  return typeof vary === 'string' && vary.toLowerCase().split(',').some((field) => CREDENTIAL_FIELDS.has(field.trim()))
}
