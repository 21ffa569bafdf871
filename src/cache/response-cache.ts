/**
 * The RFC 9111 shared cache in front of one service (issue 4). Every decision about freshness, age,
 * storability and validators is http-cache-semantics'; this class places those decisions in the request
 * lifecycle (design.md §3):
 * - lookup (onRequest, after auth): a fresh stored response is served at once; a stale one is served while
 *   a background request refreshes it (stale-while-revalidate) or revalidated with its validators;
 *   concurrent misses wait for the first one (request collapsing);
 * - the upstream's answer (the onResponse of src/proxy/forward.ts): stored when the policy allows it,
 *   teed on its way to the client; a 304 to our own validators refreshes the stored response; an
 *   upstream error serves a stale response where stale-if-error allows it;
 * - invalidation (onSend): a successful unsafe method drops what is stored for its URL, Location and
 *   Content-Location (unsafe-invalidation.ts).
 * A served entry still goes through every onSend hook (CORS, rate-limit fields, compression) and the
 * access log. What may be stored is storability.ts', how a stored answer is sent stored-answer.ts', the
 * stale-while-revalidate replay background-refresh.ts', and the per-request state request-state.ts'.
 */
import { pipeline } from 'node:stream'
import type { Readable } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import CachePolicy from 'http-cache-semantics'
import type { ResponseCompressor } from '../compression/compressor.js'
import type { ResolvedService } from '../config/types.js'
import { BodyCapture } from './body-capture.js'
import { BackgroundRefresh } from './background-refresh.js'
import { CACHE_STATUS_HEADER, CacheStatus } from './cache-status.js'
import { hasConditionals, withoutConditionals } from './conditional.js'
import { Fills } from './fills.js'
import { currentAge, forbidsStale, policyFacts, varyMatches } from './policy-facts.js'
import { cacheKey, policyRequest, requestOrigin, subjectPartition } from './request-view.js'
import { retention, Storability, type AnswerContext } from './storability.js'
import { sendStored } from './stored-answer.js'
import { kCacheState, kUpstreamHeaders, type CacheState, type UpstreamHeaders } from './request-state.js'
import { RESPONSE_SEGMENT, type ResponseStore, type StoredResource, type StoredVariant } from './store.js'
import type { MemoryResponseStore } from './memory-store.js'
import { responseTags } from './tags.js'
import { invalidateAfterUnsafe, type InvalidationHook } from './unsafe-invalidation.js'
import { sendUpstreamBody } from '../proxy/whole-body.js'

export interface ResponseCacheOptions {
  readonly service: ResolvedService
  readonly store: ResponseStore
  /** The same store when it is the process's memory: read synchronously, no callback per request. */
  readonly memory: MemoryResponseStore | null
  readonly maxObjectBytes: number
  readonly collapseTimeout: number
  readonly compressor: ResponseCompressor | null
  /** Secret header value marking this cache's own background refreshes. */
  readonly refreshSecret: string
  /** Removes whatever an upstream answer put on the reply, keeping the gateway's own fields. */
  readonly dropUpstreamHeaders: (reply: FastifyReply) => void
  /**
   * Request fields whose client value is not what the upstream sees (the gateway sets or drops them) or
   * that carry credentials: an answer selected by one (Vary) is not stored.
   */
  readonly gatewayFields: ReadonlySet<string>
}

/** RFC 5861 §4: the upstream answers that stale-if-error may hide. */
const ERROR_STATUSES = new Set([500, 502, 503, 504])
const MAX_VARIANTS = 16
const ERROR_RESPONSE = { status: 504, headers: {} }

export class ResponseCache {
  /** Private answers are kept per verified subject (the service's cache.partitionBySubject). */
  readonly #partitionBySubject: boolean
  readonly #store: ResponseStore
  readonly #memory: MemoryResponseStore | null
  readonly #maxObjectBytes: number
  readonly #fills: Fills
  readonly #compressor: ResponseCompressor | null
  readonly #refreshes: BackgroundRefresh
  readonly #storability: Storability
  readonly #dropUpstreamHeaders: (reply: FastifyReply) => void
  /** onSend: a successful unsafe method drops what is stored for its URL, Location and Content-Location. */
  readonly invalidate: InvalidationHook

  constructor (options: ResponseCacheOptions) {
    this.#partitionBySubject = options.service.cache?.partitionBySubject === true
    this.#store = options.store
    this.#memory = options.memory
    this.#maxObjectBytes = options.maxObjectBytes
    this.#fills = new Fills(options.collapseTimeout)
    this.#compressor = options.compressor
    this.#refreshes = new BackgroundRefresh(options.refreshSecret)
    this.#storability = new Storability({ maxObjectBytes: options.maxObjectBytes, gatewayFields: options.gatewayFields, identityOnly: options.compressor !== null })
    this.#dropUpstreamHeaders = options.dropUpstreamHeaders
    this.invalidate = invalidateAfterUnsafe(options.store, options.service.prefix, this.#partitionBySubject)
  }

  /** The instance background refreshes are injected into (the gateway's root). */
  attach (app: FastifyInstance): void {
    this.#refreshes.attach(app)
  }

  // ---- lookup (onRequest) -------------------------------------------------------------------------------

  readonly lookup = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    const method = request.method
    // Range requests and upgrades pass by: this cache does not combine partial content (RFC 9111 §3.3).
    if ((method !== 'GET' && method !== 'HEAD') || request.headers.range !== undefined || request.headers.upgrade !== undefined) {
      done()
      return
    }
    const refreshKey = this.#refreshes.keyOf(request)
    const refresh = refreshKey !== undefined
    const partition = subjectPartition(request, this.#partitionBySubject)
    // A refresh arrives through inject() (no TLS, another peer): it stores under the key it refreshes.
    const key = refreshKey ?? cacheKey(request.url, requestOrigin(request), partition)
    // Hit-for-pass: the last plain answer for this key could not be stored, so nothing is stored for it
    // now; for a while its requests go straight upstream without the cache's work (as Varnish does).
    if (!refresh && this.#fills.passes(key) && this.#memory?.resource(storeId(key), Date.now()) == null) {
      reply.header(CACHE_STATUS_HEADER, CacheStatus.pass)
      done()
      return
    }
    const state: CacheState = {
      key,
      view: null,
      shared: partition === null,
      refresh,
      conditional: hasConditionals(request.headers),
      resource: null,
      stale: null,
      revalidating: false,
      ifNoneMatch: undefined,
      ifModifiedSince: undefined,
      forwarded: null,
      waited: false,
      fill: null,
      storing: false
    }
    request[kCacheState] = state
    this.#look(request, reply, done, state)
  }

  #viewOf (request: FastifyRequest, state: CacheState): CachePolicy.Request {
    state.view ??= policyRequest(request, this.#compressor !== null)
    return state.view
  }

  #look (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction, state: CacheState): void {
    if (this.#memory !== null) {
      this.#decide(request, reply, done, state, this.#memory.resource(storeId(state.key), Date.now()))
      return
    }
    this.#store.get({ id: state.key, segment: RESPONSE_SEGMENT }, (error, hit) => {
      // An unreachable store is a miss: the upstream still answers.
      if (error !== null) request.log.debug({ err: error }, 'cache store lookup failed')
      this.#decide(request, reply, done, state, error === null ? hit?.item ?? null : null)
    })
  }

  #decide (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction, state: CacheState, resource: StoredResource | null): void {
    state.resource = resource
    state.stale = null
    const variant = this.#usableVariant(state, request)
    if (variant !== null && !state.refresh) {
      // The common hit: no cache directives in the request, fresh. Same answer as evaluateRequest() without
      // building the request view or parsing anything, except for a fresh `must-revalidate` answer, which
      // http-cache-semantics always revalidates and RFC 9111 §5.2.2.2 lets a cache serve until it is stale.
      const facts = policyFacts(variant.policy)
      if (request.headers['cache-control'] === undefined && request.headers.pragma === undefined && facts.maxAge > currentAge(facts, Date.now())) {
        this.#serve(request, reply, state, variant, CacheStatus.hit)
        return
      }
      const result = variant.policy.evaluateRequest(this.#viewOf(request, state))
      if (result.response !== undefined) {
        if (result.revalidation === undefined) {
          this.#serve(request, reply, state, variant, CacheStatus.hit)
          return
        }
        // RFC 9111 §4.2.4: no stale answer where the response forbids it (the library would still serve).
        if (!forbidsStale(facts, state.shared)) {
          this.#refreshes.start(request, state.key)
          this.#serve(request, reply, state, variant, CacheStatus.staleWhileRevalidate)
          return
        }
      }
    }
    state.stale = variant
    if (request.method === 'GET' && !state.refresh && !state.waited && this.#mayCollapse(request, state)) {
      const fill = this.#fills.lead(state.key)
      if (fill === null) {
        state.waited = true
        this.#fills.wait(state.key, () => { this.#look(request, reply, done, state) })
        return
      }
      state.fill = fill
      // However the leader's request ends (answered, refused by a later hook, client gone), a fill it did not
      // hand to the store must not hold the waiters. A listener on leaders only: an onResponse or
      // onRequestAbort hook would cost every request of the service.
      reply.raw.once('close', () => { if (!state.storing) this.#settle(state) })
    }
    // The selection this request is stored under is what it looked like here, at lookup: a team plugin's
    // later change reaches the upstream and makes the answer unstorable (upstreamSawSelection) instead.
    this.#viewOf(request, state)
    this.#prepareUpstreamRequest(request, state)
    done()
  }

  /**
   * Only plain requests collapse: a conditional, no-store or (shared) Authorization request may get an
   * answer that says nothing about what others would get (a 304, a refusal to store), and must neither
   * hold the others nor turn hit-for-pass on.
   */
  #mayCollapse (request: FastifyRequest, state: CacheState): boolean {
    if (state.conditional || request.headers['cache-control'] !== undefined || request.headers.pragma !== undefined) return false
    return !(state.shared && request.headers.authorization !== undefined)
  }

  /** The stored response selected by this request's Vary fields, if the request may use it at all. */
  #usableVariant (state: CacheState, request: FastifyRequest): StoredVariant | null {
    const variants = state.resource?.variants
    if (variants === undefined) return null
    for (const variant of variants) {
      const facts = policyFacts(variant.policy)
      if (facts.vary !== null && !varyMatches(facts, this.#viewOf(request, state).headers)) continue
      // RFC 9111 §3.5: an answer is reused for a request with Authorization only when it says so.
      if (state.shared && request.headers.authorization !== undefined && !facts.allowsAuthorized) return null
      return variant
    }
    return null
  }

  /**
   * Our validators for the stale response, in place of any the client sent (RFC 9111 §4.3.2): a 304 then
   * refreshes the stored response, and the client's own condition is answered from it.
   */
  #prepareUpstreamRequest (request: FastifyRequest, state: CacheState): void {
    const stale = state.stale
    if (stale === null || request.method !== 'GET') return
    const view = this.#viewOf(request, state)
    const validators = stale.policy.revalidationHeaders({ ...view, headers: withoutConditionals(view.headers) })
    const ifNoneMatch = validators['if-none-match']
    const ifModifiedSince = validators['if-modified-since']
    if (typeof ifNoneMatch === 'string') state.ifNoneMatch = ifNoneMatch
    if (typeof ifModifiedSince === 'string') state.ifModifiedSince = ifModifiedSince
    state.revalidating = state.ifNoneMatch !== undefined || state.ifModifiedSince !== undefined
  }

  /**
   * The upstream's copy of the request headers (the upstream call's rewriteRequestHeaders): asks for the identity
   * body when the gateway compresses, and carries our validators. The client's own headers stay as sent:
   * the compressor negotiates from them.
   */
  readonly upstreamRequestHeaders = (request: FastifyRequest, headers: Record<string, string | string[] | undefined>): void => {
    const state = request[kCacheState]
    if (state === null) return
    state.forwarded = headers
    if (this.#compressor !== null) headers['accept-encoding'] = 'identity'
    if (!state.revalidating) return
    delete headers['if-none-match']
    delete headers['if-modified-since']
    if (state.ifNoneMatch !== undefined) headers['if-none-match'] = state.ifNoneMatch
    if (state.ifModifiedSince !== undefined) headers['if-modified-since'] = state.ifModifiedSince
  }

  // ---- answering from the store -------------------------------------------------------------------------

  #serve (request: FastifyRequest, reply: FastifyReply, state: CacheState, variant: StoredVariant, status: string): void {
    sendStored(request, reply, { key: state.key, conditional: state.conditional, variant, status }, this.#compressor)
  }

  // ---- the upstream's answer (the upstream call's onResponse, src/proxy/forward.ts) ------------------

  /**
   * The upstream's response headers, as forwarded: kept for the policy and the store, and returned for the
   * client without the purge tags (they are for the gateway only, on every method).
   */
  readonly keepUpstreamHeaders = <T extends UpstreamHeaders>(request: FastifyRequest, headers: T): T => {
    if (request[kCacheState] !== null) request[kUpstreamHeaders] = headers
    if (headers['cache-tag'] === undefined && headers['surrogate-key'] === undefined) return headers
    const forClient: Record<string, unknown> = { ...headers }
    delete forClient['cache-tag']
    delete forClient['surrogate-key']
    return forClient as T
  }

  readonly respond = (request: FastifyRequest, reply: FastifyReply, response: { stream: Readable }): void => {
    const stream = response.stream
    if (reply.sent) {
      stream.destroy()
      return
    }
    const state = request[kCacheState]
    if (state === null || request.method !== 'GET') {
      this.#send(reply, stream)
      return
    }
    const status = reply.statusCode
    const headers = request[kUpstreamHeaders] ?? {}
    if (state.stale !== null && state.revalidating && status === 304) {
      stream.resume()
      this.#revalidated(request, reply, state, state.stale, headers)
      return
    }
    if (state.stale !== null && ERROR_STATUSES.has(status) && this.#allowsStaleIfError(request, state.stale, state)) {
      stream.destroy()
      this.#dropUpstreamHeaders(reply)
      this.#settle(state)
      this.#serve(request, reply, state, state.stale, CacheStatus.staleIfError)
      return
    }
    const policy = this.#storability.policyFor(request, this.#contextOf(request, state), status, headers)
    if (policy === null) {
      // A plain request's answer could not be stored: the next ones would only queue for nothing.
      if (state.fill !== null && status !== 304) this.#fills.pass(state.key)
      this.#settle(state)
      reply.header(CACHE_STATUS_HEADER, state.stale === null ? CacheStatus.miss : CacheStatus.staleReplaced)
      this.#send(reply, stream)
      return
    }
    state.storing = true
    const tags = responseTags(headers)
    const capture = new BodyCapture(this.#maxObjectBytes, (body) => {
      if (body === null) {
        state.storing = false
        this.#settle(state)
        return
      }
      this.#write(request, state, { policy, body, tags })
    })
    pipeline(stream, capture, ignoreStreamEnd)
    reply.header(CACHE_STATUS_HEADER, state.stale === null ? CacheStatus.missStored : CacheStatus.staleReplacedStored)
    this.#send(reply, capture)
  }

  /**
   * The upstream could not be reached or failed (the upstream call's onError, or no replica available): true when
   * a stale response was served instead of the problem (stale-if-error).
   */
  answerFault (request: FastifyRequest, reply: FastifyReply): boolean {
    const state = request[kCacheState]
    if (state === null) return false
    this.#settle(state)
    if (state.stale === null || !this.#allowsStaleIfError(request, state.stale, state)) return false
    this.#serve(request, reply, state, state.stale, CacheStatus.staleIfError)
    return true
  }

  #revalidated (request: FastifyRequest, reply: FastifyReply, state: CacheState, stale: StoredVariant, headers: UpstreamHeaders): void {
    this.#dropUpstreamHeaders(reply)
    const refreshed = this.#storability.refreshed(request, this.#contextOf(request, state), stale, headers)
    if (refreshed !== null) {
      state.storing = true
      this.#write(request, state, refreshed)
    } else {
      this.#settle(state)
    }
    this.#serve(request, reply, state, refreshed ?? stale, CacheStatus.revalidated)
  }

  #contextOf (request: FastifyRequest, state: CacheState): AnswerContext {
    return { view: this.#viewOf(request, state), forwarded: state.forwarded, shared: state.shared }
  }

  #allowsStaleIfError (request: FastifyRequest, stale: StoredVariant, state: CacheState): boolean {
    // Only what the upstream allowed (RFC 5861 §4): http-cache-semantics would also hand back any fresh
    // response, e.g. to a request that asked for revalidation (no-cache). Within that allowance it keeps
    // the stale policy for an error answer exactly when stale-if-error still covers its age.
    const facts = policyFacts(stale.policy)
    return facts.staleIfError && !forbidsStale(facts, state.shared) && !stale.policy.revalidatedPolicy(this.#viewOf(request, state), ERROR_RESPONSE).modified
  }

  #write (request: FastifyRequest, state: CacheState, variant: StoredVariant): void {
    const facts = policyFacts(variant.policy)
    const kept = (state.resource?.variants ?? []).filter((other) =>
      other !== state.stale && !varyMatches(policyFacts(other.policy), facts.selecting) && retention(other.policy) > 0)
    const variants = [variant, ...kept.slice(0, MAX_VARIANTS - 1)]
    let ttl = 0
    for (const stored of variants) ttl = Math.max(ttl, retention(stored.policy))
    const resource: StoredResource = { variants }
    state.resource = resource
    this.#fills.collapse(state.key)
    if (this.#memory !== null) {
      this.#memory.write(storeId(state.key), resource, ttl)
      state.storing = false
      this.#settle(state)
      return
    }
    this.#store.set({ id: state.key, segment: RESPONSE_SEGMENT }, resource, ttl, (error) => {
      if (error !== null) request.log.warn({ err: error }, 'cache store write failed')
      state.storing = false
      this.#settle(state)
    })
  }

  #settle (state: CacheState): void {
    if (state.fill === null) return
    this.#fills.settle(state.fill)
    state.fill = null
  }

  #send (reply: FastifyReply, body: Readable): void {
    if (this.#compressor === null) sendUpstreamBody(reply, body)
    else this.#compressor.sendProxied(reply, body)
  }
}

function storeId (key: string): string {
  return `${RESPONSE_SEGMENT}:${key}`
}

function ignoreStreamEnd (): void {}
