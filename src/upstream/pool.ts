import type { ResolvedUpstream } from '../config/types.js'

/** How long an upstream that refused a connection is left out before it gets another request. */
export const DOWN_COOLDOWN_MS = 1_000

export type Clock = () => number

/**
 * The replicas of one service:
 * - smooth weighted round-robin (the nginx algorithm): with equal weights it is plain round-robin, with
 *   weights 5/1/1 it spreads picks as a,a,b,a,c,a,a instead of bursting;
 * - an upstream that refuses a connection (or does not accept one in time) is down for a cooldown and
 *   skipped; when the cooldown ends it gets requests again, and any response brings it back at once.
 *   When every upstream is down the service answers 503 without trying (issue 2: "all down → 503").
 * Active health checks, outlier ejection and other strategies come with issue 5.
 */
export class UpstreamPool {
  readonly #urls: readonly string[]
  readonly #weights: readonly number[]
  readonly #current: number[]
  /** Time until which each upstream is down; 0 when up. */
  readonly #downUntil: number[]
  readonly #now: Clock
  #downCount = 0

  constructor (upstreams: readonly ResolvedUpstream[], now: Clock = Date.now) {
    this.#urls = upstreams.map((upstream) => upstream.url)
    this.#weights = upstreams.map((upstream) => upstream.weight)
    this.#current = upstreams.map(() => 0)
    this.#downUntil = upstreams.map(() => 0)
    this.#now = now
  }

  get size (): number {
    return this.#urls.length
  }

  /** The next upstream origin to send a request to (the soonest back, if every one is down). */
  pick (): string {
    const now = this.#downCount === 0 ? 0 : this.#now()
    let best = -1
    let total = 0
    for (let i = 0; i < this.#urls.length; i++) {
      if ((this.#downUntil[i] as number) > now) continue
      const weight = this.#weights[i] as number
      const current = (this.#current[i] as number) + weight
      this.#current[i] = current
      total += weight
      if (best === -1 || current > (this.#current[best] as number)) best = i
    }
    if (best === -1) return this.#urls[this.#soonestBack()] as string
    this.#current[best] = (this.#current[best] as number) - total
    return this.#urls[best] as string
  }

  /** Milliseconds until an upstream may be tried again when every one is down, else 0. */
  allDownFor (): number {
    if (this.#downCount < this.#urls.length) return 0
    const wait = (this.#downUntil[this.#soonestBack()] as number) - this.#now()
    return wait > 0 ? wait : 0
  }

  /** A connection to `url` was refused or not accepted in time. */
  reportDown (url: string): void {
    const index = this.#urls.indexOf(url)
    if (index === -1) return
    if (this.#downUntil[index] === 0) this.#downCount++
    this.#downUntil[index] = this.#now() + DOWN_COOLDOWN_MS
  }

  /** `url` answered: it is up. Free when nothing is down (the usual case, on every response). */
  reportUp (url: string | null): void {
    if (this.#downCount === 0 || url === null) return
    const index = this.#urls.indexOf(url)
    if (index === -1 || this.#downUntil[index] === 0) return
    this.#downUntil[index] = 0
    this.#downCount--
  }

  #soonestBack (): number {
    let soonest = 0
    for (let i = 1; i < this.#urls.length; i++) {
      if ((this.#downUntil[i] as number) < (this.#downUntil[soonest] as number)) soonest = i
    }
    return soonest
  }
}
