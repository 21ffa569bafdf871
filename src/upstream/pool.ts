import type { ResolvedUpstream } from '../config/types.js'

/**
 * Smooth weighted round-robin over a service's replicas (the nginx algorithm): with equal weights it is
 * plain round-robin, with weights 5/1/1 it spreads picks as a,a,b,a,c,a,a instead of bursting.
 * Health, ejection and other strategies come with issue 5.
 */
export class UpstreamPool {
  readonly #urls: readonly string[]
  readonly #weights: readonly number[]
  readonly #current: number[]
  readonly #totalWeight: number

  constructor (upstreams: readonly ResolvedUpstream[]) {
    this.#urls = upstreams.map((upstream) => upstream.url)
    this.#weights = upstreams.map((upstream) => upstream.weight)
    this.#current = upstreams.map(() => 0)
    this.#totalWeight = this.#weights.reduce((sum, weight) => sum + weight, 0)
  }

  get size (): number {
    return this.#urls.length
  }

  /** The next upstream origin to send a request to. */
  pick (): string {
    let best = 0
    for (let i = 0; i < this.#urls.length; i++) {
      const current = (this.#current[i] as number) + (this.#weights[i] as number)
      this.#current[i] = current
      if (current > (this.#current[best] as number)) best = i
    }
    this.#current[best] = (this.#current[best] as number) - this.#totalWeight
    return this.#urls[best] as string
  }
}
