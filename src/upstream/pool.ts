/**
 * The replicas of one service and every decision about them: which one takes the next request (the
 * service's strategy, primaries before backups), which are out of rotation (down, ejected, half-open,
 * unhealthy: src/upstream/member.ts), and what each answer or failure does to that. The dispatcher
 * (src/upstream/pool-dispatcher.ts) reports results; the health checker reports checks.
 */
import type { LoadBalancingSettings, OutlierDetectionSettings, ResolvedUpstream } from '../config/types.js'
import { fnv1a } from './hash.js'
import { DOWN_COOLDOWN_MS, Member } from './member.js'
import { pickByHash, pickLeastRequest, pickRoundRobin, type Eligible } from './strategies.js'

export { DOWN_COOLDOWN_MS } from './member.js'

export type Clock = () => number

export interface PoolOptions {
  readonly balancing?: LoadBalancingSettings
  /** Passive outlier detection; null or absent: off. */
  readonly outlier?: OutlierDetectionSettings | null
  /** Retry-After for a pool whose replicas are all unhealthy (the health-check interval). */
  readonly unhealthyRetryAfter?: number
  readonly now?: Clock
  readonly random?: () => number
  /** Told when a member leaves or rejoins the rotation (for the log). */
  readonly onStateChange?: (member: Member, state: string, reason: string) => void
}

const ROUND_ROBIN: LoadBalancingSettings = { strategy: 'round-robin', hashOn: null, slowStart: 0 }
// A slow-starting member gets at least this share of its weight, so it is probed at all.
const SLOW_START_FLOOR = 0.1

export class UpstreamPool {
  readonly members: readonly Member[]
  readonly #balancing: LoadBalancingSettings
  readonly #outlier: OutlierDetectionSettings | null
  readonly #halfOpenRequests: number
  readonly #unhealthyRetryAfter: number
  readonly #now: Clock
  readonly #random: () => number
  readonly #onStateChange: NonNullable<PoolOptions['onStateChange']>
  readonly #eligible: Eligible
  readonly #weightOf: (member: Member) => number
  #inflight = 0
  // The pass in progress (pick is synchronous): read by #eligible, created once instead of per pick.
  #passNow = 0
  #passBackup = false
  #passTried: readonly Member[] | null = null

  constructor (upstreams: readonly ResolvedUpstream[], options: PoolOptions = {}) {
    this.members = upstreams.map((upstream) => new Member(upstream, fnv1a(upstream.url)))
    this.#balancing = options.balancing ?? ROUND_ROBIN
    this.#outlier = options.outlier ?? null
    this.#halfOpenRequests = this.#outlier?.halfOpenRequests ?? 1
    this.#unhealthyRetryAfter = options.unhealthyRetryAfter ?? DOWN_COOLDOWN_MS
    this.#now = options.now ?? Date.now
    this.#random = options.random ?? Math.random
    this.#onStateChange = options.onStateChange ?? (() => {})
    this.#eligible = (index) => this.#isEligible(index)
    this.#weightOf = (member) => this.#effectiveWeight(member)
  }

  get size (): number {
    return this.members.length
  }

  /** Requests in flight on every member. */
  get inflight (): number {
    return this.#inflight
  }

  /**
   * The member for the next request (primaries first, backups when no primary is available), or null when
   * none is. `key` is the consistent-hash key (null: none); `tried` are members this request already failed on.
   */
  pick (key: string | null = null, tried: readonly Member[] | null = null): Member | null {
    this.#passNow = this.#now()
    this.#passTried = tried
    this.#passBackup = false
    let index = this.#pickInPass(key)
    if (index === -1) {
      this.#passBackup = true
      index = this.#pickInPass(key)
    }
    this.#passTried = null
    return index === -1 ? null : this.members[index] as Member
  }

  /** Milliseconds until some member may take a request when none may now, else 0. */
  allDownFor (): number {
    const now = this.#now()
    let soonest = Number.POSITIVE_INFINITY
    for (const member of this.members) {
      if (member.isAvailable(now, this.#halfOpenRequests)) return 0
      soonest = Math.min(soonest, member.availableIn(now, this.#unhealthyRetryAfter))
    }
    // Every member half-open with its probes out: ask the client to come back shortly.
    return this.members.length === 0 ? this.#unhealthyRetryAfter : Math.max(soonest, 1)
  }

  /** A request starts on `member` (right after `pick`); true when it is one of a half-open circuit's probes. */
  started (member: Member): boolean {
    member.inflight++
    this.#inflight++
    if (!member.halfOpen) return false
    member.probes++
    return true
  }

  /** The request `started` counted is over (`probe`: what `started` returned). */
  finished (member: Member, probe: boolean): void {
    member.inflight--
    this.#inflight--
    if (probe && member.probes > 0) member.probes--
  }

  /** The member answered (any status below 500): it is up, and a half-open circuit closes. */
  succeeded (member: Member): void {
    member.consecutiveFailures = 0
    if (member.downUntil !== 0) member.downUntil = 0
    if (member.halfOpen) {
      member.halfOpen = false
      member.recoveredAt = this.#now()
      this.#onStateChange(member, 'up', 'probe request succeeded')
    }
  }

  /** A failure on `member`: a 5xx, a reset or timeout, or (`connectFailure`) no connection at all. */
  failed (member: Member, connectFailure: boolean): void {
    const now = this.#now()
    member.failures++
    member.consecutiveFailures++
    if (connectFailure) member.downUntil = now + DOWN_COOLDOWN_MS
    const outlier = this.#outlier
    if (outlier === null) return
    if (member.halfOpen || member.consecutiveFailures >= outlier.consecutiveFailures) this.#eject(member, now, outlier)
  }

  /** An active health check of `member` passed or failed; thresholds decide when its state changes. */
  checked (member: Member, passed: boolean, healthyThreshold: number, unhealthyThreshold: number): void {
    const now = this.#now()
    if (passed) {
      member.healthPasses++
      member.healthFailures = 0
      // A passing check also ends an ejection (issue 5: "back after the time or a passing active check").
      if (member.ejectedUntil > now || member.halfOpen) {
        member.ejectedUntil = 0
        member.halfOpen = false
        member.recoveredAt = now
        this.#onStateChange(member, 'up', 'health check passed')
      }
      if (!member.healthy && member.healthPasses >= healthyThreshold) {
        member.healthy = true
        member.recoveredAt = now
        this.#onStateChange(member, 'up', `${member.healthPasses} health checks passed`)
      }
      return
    }
    member.healthFailures++
    member.healthPasses = 0
    if (member.healthy && member.healthFailures >= unhealthyThreshold) {
      member.healthy = false
      this.#onStateChange(member, 'unhealthy', `${member.healthFailures} health checks failed`)
    }
  }

  #eject (member: Member, now: number, outlier: OutlierDetectionSettings): void {
    // A failed probe re-opens the circuit; a fresh ejection must leave some capacity (at least one may go).
    if (!member.halfOpen && !this.#mayEject(now, outlier)) return
    member.ejections++
    member.ejectedUntil = now + Math.min(outlier.baseEjectionTime * member.ejections, outlier.maxEjectionTime)
    member.halfOpen = true
    member.consecutiveFailures = 0
    this.#onStateChange(member, 'ejected', `${outlier.consecutiveFailures} consecutive failures`)
  }

  #mayEject (now: number, outlier: OutlierDetectionSettings): boolean {
    let ejected = 0
    for (const member of this.members) if (member.ejectedUntil > now) ejected++
    return ejected < Math.max(1, Math.floor(this.members.length * outlier.maxEjectionPercent / 100))
  }

  #pickInPass (key: string | null): number {
    switch (this.#balancing.strategy) {
      case 'least-request': return pickLeastRequest(this.members, this.#eligible, this.#weightOf, this.#random)
      case 'consistent-hash':
        if (key !== null) return pickByHash(this.members, this.#eligible, this.#weightOf, fnv1a(key))
        return pickRoundRobin(this.members, this.#eligible, this.#weightOf)
      default: return pickRoundRobin(this.members, this.#eligible, this.#weightOf)
    }
  }

  #isEligible (index: number): boolean {
    const member = this.members[index] as Member
    if (member.backup !== this.#passBackup) return false
    if (this.#passTried !== null && this.#passTried.includes(member)) return false
    return member.isAvailable(this.#passNow, this.#halfOpenRequests)
  }

  #effectiveWeight (member: Member): number {
    const slowStart = this.#balancing.slowStart
    if (slowStart === 0 || member.recoveredAt === 0) return member.weight
    const elapsed = this.#passNow - member.recoveredAt
    if (elapsed >= slowStart) return member.weight
    return member.weight * Math.max(SLOW_START_FLOOR, elapsed / slowStart)
  }
}
