/**
 * The service's dispatcher, as src/proxy/forward.ts calls it: every request picks its replica here, at
 * dispatch time, from the pool, so a retry goes to another replica, and every answer or failure reaches
 * the pool (outlier detection, least-request's in-flight counts, half-open probes).
 *
 * Retries (issue 5): only for GET, HEAD and OPTIONS without a body, only when the connection failed or was
 * reset before any response (so no byte reached the client), each on a replica not tried yet when there
 * is one (else the same one: a keep-alive socket the upstream closed is worth a retry), after a
 * jittered backoff, and only while the service's retry budget allows.
 */
import type { Readable } from 'node:stream'
import type { Dispatcher } from 'undici'
import { NoUpstreamError } from '../errors.js'
import { kUpstream } from '../symbols.js'
import { clientLeft, replyOf, type RequestAnswer, type RequestCallback } from './client-abort.js'
import { isConnectFailure, retryableConnectionCode } from './faults.js'
import type { Member } from './member.js'
import type { UpstreamPool } from './pool.js'
import type { RetryBudget } from './retry-budget.js'

export interface Requester {
  request (options: Dispatcher.RequestOptions<unknown>, callback: RequestCallback): void
  close (): Promise<void>
}

/** The consistent-hash key of a request, from the headers it will carry upstream (null: none). */
export type HashKeyOf = (headers: Record<string, unknown>) => string | null

export interface PoolDispatcherOptions {
  readonly pool: UpstreamPool
  readonly retryAttempts: number
  readonly budget: RetryBudget
  readonly hashKeyOf: HashKeyOf | null
}

const RETRYABLE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS'])
const kMember = Symbol('gatehouse.member')
const kPool = Symbol('gatehouse.pool')
const kProbe = Symbol('gatehouse.probe')

type TrackedBody = Readable & { [kMember]?: Member, [kPool]?: UpstreamPool, [kProbe]?: boolean }

/** The member's request is over once its body is consumed or abandoned. */
function releaseMember (this: TrackedBody): void {
  const member = this[kMember]
  if (member !== undefined) this[kPool]?.finished(member, this[kProbe] === true)
  this[kMember] = undefined
}

export class PoolDispatcher implements Requester {
  readonly #inner: Requester
  readonly #settings: PoolDispatcherOptions

  constructor (inner: Requester, settings: PoolDispatcherOptions) {
    this.#inner = inner
    this.#settings = settings
  }

  request (options: Dispatcher.RequestOptions<unknown>, callback: RequestCallback): void {
    this.#settings.budget.requested()
    const headers = options.headers as Record<string, unknown>
    const key = this.#settings.hashKeyOf === null ? null : this.#settings.hashKeyOf(headers)
    new ProxiedRequest(this.#inner, this.#settings, options, callback, key).send()
  }

  close (): Promise<void> {
    return this.#inner.close()
  }
}

/** One client request on its way through the pool: its attempts, and the replicas they failed on. */
class ProxiedRequest {
  #member: Member | null = null
  #probe = false
  #tried: Member[] | null = null
  #attempt = 0

  constructor (
    private readonly inner: Requester,
    private readonly settings: PoolDispatcherOptions,
    private readonly options: Dispatcher.RequestOptions<unknown>,
    private readonly callback: RequestCallback,
    private readonly key: string | null
  ) {}

  send (): void {
    // Another replica when there is one; the same one otherwise (a reset keep-alive socket is worth a retry).
    const member = this.settings.pool.pick(this.key, this.#tried) ?? (this.#tried === null ? null : this.settings.pool.pick(this.key, null))
    if (member === null) {
      // Nothing left to try: the first failure is the story (a retry found no other replica).
      this.callback(this.#lastError ?? new NoUpstreamError(), { opaque: this.options.opaque })
      return
    }
    this.#member = member
    const headers = this.options.headers as Record<string, unknown>
    this.options.origin = member.url
    headers.host = member.host
    const reply = replyOf(this.options)
    if (reply !== undefined) reply.request[kUpstream] = member.url
    this.#probe = this.settings.pool.started(member)
    this.inner.request(this.options, this.#onResult)
  }

  #lastError: Error | null = null

  readonly #onResult = (error: Error | null, answer: RequestAnswer): void => {
    const member = this.#member as Member
    const pool = this.settings.pool
    if (error !== null || !('statusCode' in answer)) {
      pool.finished(member, this.#probe)
      const failure = error ?? new Error('no response')
      // A client that left aborted its own request: that says nothing about the replica.
      if (!this.#clientLeft()) pool.failed(member, isConnectFailure(failure))
      if (this.#mayRetry(failure)) {
        this.#lastError = failure;
        (this.#tried ??= []).push(member)
        setTimeout(() => { this.send() }, retryDelay(this.#attempt++))
        return
      }
      this.callback(failure, answer)
      return
    }
    if (answer.statusCode >= 500) pool.failed(member, false)
    else pool.succeeded(member)
    const body = answer.body as TrackedBody
    body[kMember] = member
    body[kPool] = pool
    body[kProbe] = this.#probe
    body.on('close', releaseMember)
    this.callback(null, answer)
  }

  #mayRetry (error: Error): boolean {
    if (this.#attempt >= this.settings.retryAttempts || this.#clientLeft()) return false
    if (!RETRYABLE_METHODS.has(this.options.method) || !hasNoBody(this.options.body)) return false
    if (retryableConnectionCode(error) === undefined && !isConnectFailure(error)) return false
    return this.settings.budget.tryRetry()
  }

  #clientLeft (): boolean {
    const reply = replyOf(this.options)
    return reply !== undefined && clientLeft(reply)
  }
}

function hasNoBody (body: unknown): boolean {
  return body === undefined || body === null || body === ''
}

/** Jittered exponential backoff: 25–50 ms, then 50–100 ms, ... up to 0.5–1 s. */
function retryDelay (attempt: number): number {
  return Math.min(50 * 2 ** attempt, 1000) * (0.5 + Math.random() / 2)
}
