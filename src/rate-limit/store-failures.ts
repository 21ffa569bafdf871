/**
 * What happens when the counter store (Redis) fails: the declared failure policy decides, every failure is
 * counted (the admin endpoint shows the counts), and a warning is logged at most once per interval so an
 * outage under load does not turn into a log flood.
 */
import type { FastifyBaseLogger } from 'fastify'
import type { GatewayRateLimitSettings } from '../config/types.js'
import { RateLimitUnavailableError } from '../errors.js'

const WARNING_INTERVAL_MS = 5_000

export class StoreFailures {
  /** Requests let through uncounted because the store failed (policy "open"). */
  failOpen = 0
  /** Requests refused with 503 because the store failed (policy "closed"). */
  failClosed = 0
  readonly #policy: GatewayRateLimitSettings['failurePolicy']
  readonly #log: FastifyBaseLogger
  #lastWarningAt = -Infinity
  #sinceLastWarning = 0

  constructor (policy: GatewayRateLimitSettings['failurePolicy'], log: FastifyBaseLogger) {
    this.#policy = policy
    this.#log = log
  }

  /** Counts one failed store call; returns the error to answer with, or null to let the request through. */
  record (error: unknown): Error | null {
    if (this.#policy === 'open') this.failOpen++
    else this.failClosed++
    this.#warn(error)
    return this.#policy === 'open' ? null : new RateLimitUnavailableError()
  }

  #warn (error: unknown): void {
    this.#sinceLastWarning++
    const now = Date.now()
    if (now - this.#lastWarningAt < WARNING_INTERVAL_MS) return
    const { name, message } = error instanceof Error ? error : new Error(String(error))
    this.#log.warn({
      err: { type: name, message },
      failurePolicy: this.#policy,
      failures: this.#sinceLastWarning
    }, this.#policy === 'open'
      ? 'rate-limit store failed; requests pass uncounted'
      : 'rate-limit store failed; requests are refused with 503')
    this.#lastWarningAt = now
    this.#sinceLastWarning = 0
  }
}
