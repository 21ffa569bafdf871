/**
 * Who a request is counted as. The client IP is Fastify's `request.ip`, which believes X-Forwarded-For only
 * from gateway.trustedProxies, so a client cannot pick its own bucket. IPv6 clients are counted per /64:
 * one subscriber usually holds a whole /64 and can rotate through it at will (RFC 6177 §2, RFC 8981);
 * an IPv4-mapped IPv6 address counts as the IPv4 address it carries.
 */
import { createHash } from 'node:crypto'
import proxyAddr from 'proxy-addr'
import { normalizeIP } from '@fastify/rate-limit'
import type { FastifyRequest } from 'fastify'
import type { RateLimitKey } from '../config/types.js'
import { kPrincipal } from '../symbols.js'

const IPV6_GROUP_BITS = 64

// Partition prefixes: a subject or header value that looks like an address never shares an IP's bucket.
const IP = 'ip:'
const SUBJECT = 'sub:'
const HEADER = 'hdr:'
// Longer values are counted by their SHA-256: maxKeys bounds the number of counters, this bounds their size
// (a client could otherwise fill the store with 16 KB header values).
const LONGEST_KEPT_VALUE = 64

/** The bucket of a client address: IPv4 as is, IPv6 as its /64 network. */
export function clientBucket (ip: string): string {
  // An IPv4 address (the common case) has no ':', and needs none of the IPv6 parsing.
  return ip.includes(':') ? normalizeIP(ip, IPV6_GROUP_BITS) : ip
}

/** The per-IP tier's key: the client bucket (the tier has a namespace of its own, so no partition prefix). */
export function clientIpKey (request: FastifyRequest): string {
  return clientBucket(request.ip)
}

export type CallerKey = (request: FastifyRequest) => string

/** The key a service tier counts a request under, built once per tier (no closure per request). */
export function callerKeyFor (key: RateLimitKey): CallerKey {
  if (key === 'ip') return ipKey
  if (key === 'subject') return subjectKey
  const header = key.header.toLowerCase()
  return function headerKey (request) {
    const value = request.headers[header]
    // A repeated header arrives as a list (or joined by Node): count the whole value, never one chosen part.
    if (value === undefined || value === '') return ipKey(request)
    return HEADER + bounded(Array.isArray(value) ? value.join(', ') : value)
  }
}

function ipKey (request: FastifyRequest): string {
  return IP + clientBucket(request.ip)
}

/** The verified token's subject; the client IP for anonymous callers and tokens without `sub`. */
function subjectKey (request: FastifyRequest): string {
  const subject = request[kPrincipal]?.subject
  return subject === undefined || subject === null ? ipKey(request) : SUBJECT + bounded(subject)
}

function bounded (value: string): string {
  return value.length <= LONGEST_KEPT_VALUE ? value : createHash('sha256').update(value).digest('base64url')
}

/** The keys `allow` exempts, in the form `callerKeyFor` produces: its entries that are not addresses. */
export function exemptKeys (key: RateLimitKey, allow: readonly string[]): string[] {
  if (key === 'ip') return []
  const prefix = key === 'subject' ? SUBJECT : HEADER
  return allow.filter((entry) => compileAddress(entry) === null).map((entry) => prefix + bounded(entry))
}

/** The client addresses `allow` exempts whatever the key (its address and CIDR entries), or null for none. */
export function exemptAddresses (allow: readonly string[]): ((ip: string) => boolean) | null {
  const addresses = allow.filter((entry) => compileAddress(entry) !== null)
  if (addresses.length === 0) return null
  const listed = proxyAddr.compile(addresses)
  return (ip) => listed(ip, 0)
}

function compileAddress (entry: string): object | null {
  try {
    return proxyAddr.compile(entry)
  } catch {
    return null
  }
}
