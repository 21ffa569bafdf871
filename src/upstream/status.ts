/** What `GET <admin prefix>/upstreams` reports: every service's replicas, their state and load. */
import type { UpstreamPool } from './pool.js'

export interface UpstreamStatus {
  readonly url: string
  readonly weight: number
  readonly backup: boolean
  readonly state: string
  readonly inflight: number
  readonly consecutiveFailures: number
  readonly failures: number
  readonly ejections: number
  /** Milliseconds until an ejection or connect cooldown ends (0: none). */
  readonly availableIn: number
}

export interface ServiceUpstreams {
  readonly service: string
  readonly inflight: number
  readonly upstreams: readonly UpstreamStatus[]
}

export function upstreamsStatus (pools: ReadonlyMap<string, UpstreamPool>, now: number = Date.now()): ServiceUpstreams[] {
  return [...pools].map(([service, pool]) => ({
    service,
    inflight: pool.inflight,
    upstreams: pool.members.map((member) => ({
      url: member.url,
      weight: member.weight,
      backup: member.backup,
      state: member.state(now),
      inflight: member.inflight,
      consecutiveFailures: member.consecutiveFailures,
      failures: member.failures,
      ejections: member.ejections,
      availableIn: member.healthy ? member.availableIn(now, 0) : 0
    }))
  }))
}
