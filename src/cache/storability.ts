/**
 * Whether an upstream answer may be stored, and what a 304 makes of a stored one. The RFC 9111 decisions
 * are http-cache-semantics'; on top of them, what this gateway never stores (Set-Cookie, answers selected
 * by fields it rewrites or by credentials, 206, bodies over the size cap, an encoded body when identity was
 * asked for). Both run inside undici's response callback, where a throw would escape as an uncaught
 * exception: anything unexpected is logged and the answer passes through unstored.
 */
import type { FastifyRequest } from 'fastify'
import CachePolicy from 'http-cache-semantics'
import { policyFacts } from './policy-facts.js'
import type { UpstreamHeaders } from './request-state.js'
import { storedRequest, upstreamSawSelection, variesOn } from './request-view.js'
import type { StoredVariant } from './store.js'
import { policyHeaders, type PolicyHeaders } from './upstream-headers.js'

/**
 * How long a response with a validator stays stored past its freshness: it can still be revalidated
 * with a cheap 304 (RFC 9111 §4.3) instead of refetched, as nginx keeps entries for its `inactive` time.
 */
const STALE_RETENTION_MS = 10 * 60_000
/** Not taken from a 304: they describe its (empty) body, not the stored one (http-cache-semantics' list). */
const KEPT_ON_REVALIDATION = new Set(['content-length', 'content-encoding', 'transfer-encoding', 'content-range'])

export interface StorabilityOptions {
  readonly maxObjectBytes: number
  /** Request fields the gateway sets or drops, and credentials (see ResponseCacheOptions). */
  readonly gatewayFields: ReadonlySet<string>
  /** The upstream is asked for identity bodies (the gateway compresses). */
  readonly identityOnly: boolean
}

/** What an upstream answer is judged against: the request as looked up, and as it reached the upstream. */
export interface AnswerContext {
  readonly view: CachePolicy.Request
  readonly forwarded: Readonly<Record<string, string | string[] | undefined>> | null
  readonly shared: boolean
}

export class Storability {
  readonly #options: StorabilityOptions

  constructor (options: StorabilityOptions) {
    this.#options = options
  }

  /** The policy of a storable upstream answer, or null. */
  policyFor (request: FastifyRequest, context: AnswerContext, status: number, upstream: UpstreamHeaders): CachePolicy | null {
    try {
      const headers = policyHeaders(upstream)
      if (headers === null || !this.#mayStore(headers)) return null
      if (context.forwarded !== null && !upstreamSawSelection(headers.vary, context.view, context.forwarded)) return null
      const policy = new CachePolicy(storedRequest(context.view, headers.vary), { status, headers: headers as CachePolicy.Headers }, { shared: context.shared })
      return this.#storable(policy, headers, status) ? policy : null
    } catch (error) {
      request.log.warn({ err: error }, 'cache could not read the upstream answer; passed through unstored')
      return null
    }
  }

  /**
   * The stored response updated by a 304 (RFC 9111 §4.3.4), or null when the 304 names none of its
   * validators (its body is gone, so the stored one with its old headers is still the best answer) or the
   * result may not be stored. RFC 9111 §3.2: the 304's fields replace the stored ones and new ones are
   * added (http-cache-semantics only replaces fields the stored response already had).
   */
  refreshed (request: FastifyRequest, context: AnswerContext, stale: StoredVariant, upstream: UpstreamHeaders): StoredVariant | null {
    try {
      const headers = policyHeaders(upstream)
      if (headers === null) return null
      const { matches } = stale.policy.revalidatedPolicy(context.view, { status: 304, headers: headers as CachePolicy.Headers })
      if (!matches) return null
      const facts = policyFacts(stale.policy)
      const merged: PolicyHeaders = { ...facts.headers }
      // The stored Age counted up to the stored response; the refreshed one is as old as the 304 says.
      delete merged.age
      for (const name in headers) {
        if (!KEPT_ON_REVALIDATION.has(name)) merged[name] = headers[name] as string | string[]
      }
      if (!this.#mayStore(merged)) return null
      const policy = new CachePolicy(storedRequest(context.view, merged.vary), { status: facts.status, headers: merged as CachePolicy.Headers }, { shared: context.shared })
      return policy.storable() ? { policy, body: stale.body, tags: stale.tags } : null
    } catch (error) {
      request.log.warn({ err: error }, 'cache could not read the upstream 304; served the stored answer unchanged')
      return null
    }
  }

  /** Before any policy work: what this gateway never stores, whatever the directives say. */
  #mayStore (headers: PolicyHeaders): boolean {
    // Cookies are one client's (RFC 9111 §7.3 leaves it to the cache); never handed to another.
    if (headers['set-cookie'] !== undefined) return false
    // Selected by a field the gateway rewrites (identity headers, forwarding headers) or by a caller's
    // credentials: the client's value is not what the upstream saw, or is not ours to store.
    return !variesOn(headers.vary, this.#options.gatewayFields)
  }

  #storable (policy: CachePolicy, headers: PolicyHeaders, status: number): boolean {
    if (status === 206 || !policy.storable() || retention(policy) <= 0) return false
    // The identity body was asked for: an encoded one would be served to clients that cannot decode it.
    const encoding = headers['content-encoding']
    if (this.#options.identityOnly && encoding !== undefined && encoding !== 'identity') return false
    const length = Number(headers['content-length'])
    return !(length > this.#options.maxObjectBytes)
  }
}

/** Milliseconds a response stays worth keeping: while fresh or usable stale, or revalidatable. */
export function retention (policy: CachePolicy): number {
  const ttl = policy.timeToLive()
  const facts = policyFacts(policy)
  return facts.etag !== null || facts.lastModified !== null ? ttl + STALE_RETENTION_MS : ttl
}
