/**
 * One replica of a service, as its pool sees it: configuration, requests in flight, and the states that
 * take it out of rotation:
 * - down: it refused a connection (or did not accept one in time), out for DOWN_COOLDOWN_MS; any answer
 *   brings it back at once (issue 2);
 * - ejected: its circuit is open after consecutive failures (passive outlier detection, Envoy's rule:
 *   the ejection lasts base × times ejected, capped); when it ends the circuit is half-open: a few probe
 *   requests at a time, the first success closes it, a failure opens it again for longer;
 * - unhealthy: the active health check failed `unhealthyThreshold` times in a row.
 */
import type { ResolvedUpstream } from '../config/types.js'

/** How long an upstream that refused a connection is left out before it gets another request. */
export const DOWN_COOLDOWN_MS = 1_000

export class Member {
  readonly url: string
  /** The Host header the upstream expects (its own authority, as a client sending to it directly would). */
  readonly host: string
  readonly weight: number
  readonly backup: boolean
  /** Rendezvous-hashing seed: from the URL, so adding or removing a replica never reseeds the others. */
  readonly seed: number
  inflight = 0
  /** Smooth weighted round-robin's running weight. */
  current = 0
  downUntil = 0
  ejectedUntil = 0
  ejections = 0
  halfOpen = false
  probes = 0
  healthy = true
  consecutiveFailures = 0
  /** Failures since the pool started (for the admin endpoint). */
  failures = 0
  /** When it last came back into rotation (slow start ramps from here); 0 = never left. */
  recoveredAt = 0
  healthPasses = 0
  healthFailures = 0

  constructor (upstream: ResolvedUpstream, seed: number) {
    this.url = upstream.url
    this.host = new URL(upstream.url).host
    this.weight = upstream.weight
    this.backup = upstream.backup
    this.seed = seed
  }

  /** Whether a new request may go here now (half-open circuits take `halfOpenRequests` at a time). */
  isAvailable (now: number, halfOpenRequests: number): boolean {
    if (!this.healthy || this.downUntil > now || this.ejectedUntil > now) return false
    return !this.halfOpen || this.probes < halfOpenRequests
  }

  /** Milliseconds until it may take requests again (0 when it may now; unknown for unhealthy: `fallback`). */
  availableIn (now: number, fallback: number): number {
    if (!this.healthy) return fallback
    return Math.max(0, this.downUntil - now, this.ejectedUntil - now)
  }

  state (now: number): 'up' | 'down' | 'ejected' | 'half-open' | 'unhealthy' {
    if (!this.healthy) return 'unhealthy'
    if (this.ejectedUntil > now) return 'ejected'
    if (this.downUntil > now) return 'down'
    return this.halfOpen ? 'half-open' : 'up'
  }
}
