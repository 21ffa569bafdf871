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
import { kPrincipal } from '../symbols.js'

const POLICY_HOST = 'gatehouse'
const NORMALIZED_FIELDS = ['accept', 'accept-encoding', 'accept-language'] as const

/**
 * The store key: the URL first (purges match on it), then the origin the client addressed (RFC 9111 §4:
 * the whole target URI is the key; the upstream sees the host through X-Forwarded-Host and may build
 * links or redirects from it), then the partition of one verified caller. A request target never contains
 * a space, so neither part can be forged through the URL.
 */
export function cacheKey (url: string, origin: string, partition: string | null): string {
  return partition === null ? `${url} ${origin}` : `${url} ${origin} ${partition}`
}

/** Every key of one URL, whatever its origin or partition, starts with this. */
export function urlKeyPrefix (url: string): string {
  return `${url} `
}

/**
 * The verified caller a partitioning service keeps answers for, or null (shared answers): `sub` is unique
 * per issuer only, so the issuer is part of it.
 */
export function subjectPartition (request: FastifyRequest, partitionBySubject: boolean): string | null {
  if (!partitionBySubject) return null
  const principal = request[kPrincipal]
  if (principal === null || principal.subject === null) return null
  const issuer = principal.claims.iss
  return `${typeof issuer === 'string' ? encodeURIComponent(issuer) : '-'} ${principal.subject}`
}

export function requestOrigin (request: FastifyRequest): string {
  return `${request.protocol}://${request.host.toLowerCase()}`
}

export function policyRequest (request: FastifyRequest, identityOnly: boolean): CachePolicy.Request {
  const headers: Record<string, string | string[] | undefined> = { ...request.headers, host: POLICY_HOST }
  for (const field of NORMALIZED_FIELDS) headers[field] = normalizedField(field, headers[field])
  if (identityOnly) headers['accept-encoding'] = 'identity'
  // HEAD is answered from a stored GET (RFC 9110 §9.3.2 allows it), so both look the same to the policy.
  return { method: 'GET', url: request.url, headers: headers as CachePolicy.Headers }
}

/** A request field's value as the cache compares it (see policyRequest). */
export function normalizedField (name: string, value: string | string[] | undefined): string | string[] | undefined {
  if (typeof value !== 'string' || !(NORMALIZED_FIELDS as readonly string[]).includes(name)) return value
  return value.toLowerCase().replace(/\s*,\s*/g, ', ').trim()
}

/**
 * Whether every field the response varies on reached the upstream with the value the cache selects by:
 * a field a team plugin set or changed after the lookup (a preHandler) would store one caller's answer
 * under another caller's selection.
 */
export function upstreamSawSelection (vary: string | string[] | undefined, view: CachePolicy.Request, forwarded: Readonly<Record<string, string | string[] | undefined>>): boolean {
  if (typeof vary !== 'string') return true
  for (const field of vary.toLowerCase().split(',')) {
    const name = field.trim()
    if (name === '' || name === '*') continue
    const sent = normalizedField(name, forwarded[name])
    const selected = view.headers[name]
    if (Array.isArray(sent) || Array.isArray(selected) ? JSON.stringify(sent) !== JSON.stringify(selected) : sent !== selected) return false
  }
  return true
}

/** Request fields the policy reads besides the Vary-selected ones (RFC 9111 §3, §3.5, §5.2.1). */
const POLICY_FIELDS = ['host', 'cache-control', 'pragma'] as const
/** Vary on these would put one caller's credentials into a shared store: such answers are not stored. */
export const CREDENTIAL_FIELDS: ReadonlySet<string> = new Set(['authorization', 'cookie', 'proxy-authorization'])

/**
 * The request a stored policy keeps: only what the policy reads, so no token, cookie or other header of
 * the caller is written to the store (http-cache-semantics keeps every request header when a response
 * has Vary). Authorization is kept as presence only.
 */
export function storedRequest (view: CachePolicy.Request, vary: string | string[] | number | undefined): CachePolicy.Request {
  const headers: Record<string, string | string[] | undefined> = {}
  // Only fields that are there: http-cache-semantics tells "absent" from "present but undefined" (Vary).
  for (const field of POLICY_FIELDS) copyPresent(headers, view.headers, field)
  if (view.headers.authorization !== undefined) headers.authorization = 'present'
  if (typeof vary === 'string') {
    for (const field of vary.toLowerCase().split(',')) {
      const name = field.trim()
      if (name !== '' && !CREDENTIAL_FIELDS.has(name)) copyPresent(headers, view.headers, name)
    }
  }
  return { method: view.method, url: view.url, headers: headers as CachePolicy.Headers }
}

function copyPresent (to: Record<string, string | string[] | undefined>, from: CachePolicy.Headers, name: string): void {
  const value = from[name]
  if (value !== undefined) to[name] = value
}

/** Whether Vary names one of `fields`. */
export function variesOn (vary: string | string[] | undefined, fields: ReadonlySet<string>): boolean {
  return typeof vary === 'string' && vary.toLowerCase().split(',').some((field) => fields.has(field.trim()))
}
