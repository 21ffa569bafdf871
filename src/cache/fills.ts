/**
 * Request collapsing: while one request for a resource is out filling the cache, later misses for the
 * same resource wait for it instead of each going upstream (nginx's proxy_cache_lock, Varnish's waiting
 * list). When the fill ends — stored, not storable, failed — every waiter is released to look again; a
 * waiter released by the timeout goes upstream on its own. Per process: replicas collapse separately.
 *
 * A resource whose last answer could not be stored is not collapsed for a while ("hit-for-pass", as
 * Varnish does it): its requests would only queue behind each other's first byte for nothing.
 */
import { LruMap } from 'toad-cache'

const PASS_KEYS = 10_000
const PASS_MS = 30_000
export type Waiter = () => void

/** One fill under way; only its own leader (or its timeout) can end it. */
export interface Fill {
  readonly key: string
  readonly waiters: Waiter[]
  timer: NodeJS.Timeout | null
}

export class Fills {
  readonly #fills = new Map<string, Fill>()
  readonly #passing = new LruMap<true>(PASS_KEYS, PASS_MS)
  readonly #timeoutMs: number

  constructor (timeoutMs: number) {
    this.#timeoutMs = timeoutMs
  }

  /** True while requests for `key` go upstream without collapsing (its last answer was not storable). */
  passes (key: string): boolean {
    return this.#passing.get(key) === true
  }

  /** The last answer for `key` could not be stored: stop collapsing its requests for a while. */
  pass (key: string): void {
    this.#passing.set(key, true)
  }

  /** An answer for `key` was stored: collapse its misses again. */
  collapse (key: string): void {
    this.#passing.delete(key)
  }

  /** The fill the caller now leads, or null when one is already under way for `key`. */
  lead (key: string): Fill | null {
    if (this.#fills.has(key)) return null
    const fill: Fill = { key, waiters: [], timer: null }
    fill.timer = setTimeout(() => { this.settle(fill) }, this.#timeoutMs)
    fill.timer.unref()
    this.#fills.set(key, fill)
    return fill
  }

  /** Queues `waiter` behind the fill of `key`; false when there is none (the caller goes ahead). */
  wait (key: string, waiter: Waiter): boolean {
    const fill = this.#fills.get(key)
    if (fill === undefined) return false
    fill.waiters.push(waiter)
    return true
  }

  /** The fill is over, however it went: release its waiters. Later calls for the same fill do nothing. */
  settle (fill: Fill): void {
    if (fill.timer === null) return
    clearTimeout(fill.timer)
    fill.timer = null
    if (this.#fills.get(fill.key) === fill) this.#fills.delete(fill.key)
    // On a later turn: a fill often ends inside undici's response callback or a stream's flush, where
    // waiters starting their own upstream requests (or answering) should not run.
    if (fill.waiters.length > 0) setImmediate(release, fill.waiters.splice(0))
  }

  get size (): number {
    return this.#fills.size
  }
}

function release (waiters: readonly Waiter[]): void {
  for (const waiter of waiters) waiter()
}
