/**
 * A retry budget (Envoy's idea): retries may add at most `percent` of the service's requests of the last
 * window (and at least `minRetries`), so when a whole fleet fails the gateway does not multiply the load
 * on it. Fixed 10 s windows: cheap, and precise enough for a bound.
 */
import type { Clock } from './pool.js'

const WINDOW_MS = 10_000
const MIN_RETRIES = 3

export class RetryBudget {
  #windowStart = 0
  #requests = 0
  #retries = 0

  constructor (private readonly percent: number, private readonly now: Clock = Date.now) {}

  /** Counts one request of the service. */
  requested (): void {
    this.#roll()
    this.#requests++
  }

  /** Takes one retry from the budget; false when it is spent. */
  tryRetry (): boolean {
    this.#roll()
    if (this.#retries >= Math.max(MIN_RETRIES, Math.floor(this.#requests * this.percent / 100))) return false
    this.#retries++
    return true
  }

  #roll (): void {
    const now = this.now()
    if (now - this.#windowStart < WINDOW_MS) return
    this.#windowStart = now
    this.#requests = 0
    this.#retries = 0
  }
}
