/**
 * Rate-limit response headers as draft-ietf-httpapi-ratelimit-headers (-09 to -11) defines them: two
 * Structured Field Lists (RFC 9651) with one member per policy that counted the request.
 *
 *   RateLimit-Policy: "ip";q=100;w=60, "user";q=10;w=60     (§3: quota q, window w in seconds)
 *   RateLimit: "ip";r=99;t=42, "user";r=9;t=60              (§4: remaining r, seconds until reset t)
 *
 * Each tier appends its member, so a response carries exactly the tiers that ran. No partition key (`pk`):
 * it would echo subjects and API keys back (§8.2). The legacy X-RateLimit-* trio, when enabled, describes
 * the tier closest to its limit, as most clients that read it expect a single limit.
 */
import type { FastifyReply } from 'fastify'

const POLICY = 'ratelimit-policy'
const LIMIT = 'ratelimit'
const LEGACY_LIMIT = 'x-ratelimit-limit'
const LEGACY_REMAINING = 'x-ratelimit-remaining'
const LEGACY_RESET = 'x-ratelimit-reset'

/** An sf-string (RFC 9651 §3.3.3): quoted, with `"` and `\` escaped. */
export function sfString (value: string): string {
  return `"${value.replace(/[\\"]/g, '\\$&')}"`
}

/** The RateLimit-Policy member of a tier, built once: `"ip";q=100;w=60`. */
export function policyMember (name: string, max: number, windowMs: number): string {
  // w is a positive integer number of seconds (§3.1.3); round up rather than promise a shorter window.
  return `${sfString(name)};q=${max};w=${Math.max(1, Math.ceil(windowMs / 1000))}`
}

export interface LimitState {
  readonly max: number
  readonly remaining: number
  /** Whole seconds until the window resets. */
  readonly resetSeconds: number
}

/** Adds one tier's members to the response: `quotedName` is the tier's sf-string name. */
export function addLimitHeaders (reply: FastifyReply, quotedName: string, policy: string, state: LimitState): void {
  appendMember(reply, POLICY, policy)
  appendMember(reply, LIMIT, `${quotedName};r=${state.remaining};t=${state.resetSeconds}`)
}

/** X-RateLimit-Limit/-Remaining/-Reset of the tier with the least remaining quota so far. */
export function addLegacyHeaders (reply: FastifyReply, state: LimitState): void {
  const current = reply.getHeader(LEGACY_REMAINING)
  if (current !== undefined && Number(current) <= state.remaining) return
  reply.header(LEGACY_LIMIT, state.max)
  reply.header(LEGACY_REMAINING, state.remaining)
  reply.header(LEGACY_RESET, state.resetSeconds)
}

// Fastify replaces a header on a second reply.header(): join list members into one field line instead
// (RFC 9651 §3.1 allows either form).
function appendMember (reply: FastifyReply, name: string, member: string): void {
  const current = reply.getHeader(name)
  reply.header(name, current === undefined ? member : `${String(current)}, ${member}`)
}
