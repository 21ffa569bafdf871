/** One load round against one target: autocannon in this process, CPU and RSS of the target's process. */
import autocannon from 'autocannon'
import type { BenchChild } from './children.js'
import { cpuTicks, rssBytes } from './proc-stats.js'

export const TARGET_NAMES = ['direct', 'baseline', 'gatehouse'] as const
export const BODY_NAMES = ['small', 'large'] as const

export type TargetName = typeof TARGET_NAMES[number]
export type BodyName = typeof BODY_NAMES[number]

export interface Target {
  readonly name: TargetName
  /** The process that serves this target (for direct, the backend itself). */
  readonly child: BenchChild
  /** Base URL the body paths are appended to, e.g. http://127.0.0.1:4000/api */
  readonly baseUrl: string
}

export interface LoadOptions {
  readonly connections: number
  readonly durationSeconds: number
  readonly clockTicksPerSecond: number
}

export interface RoundSample {
  readonly requests: number
  readonly requestsPerSecond: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly cpuMicrosPerRequest: number
  readonly rssBytes: number
  readonly non2xx: number
  readonly errors: number
  readonly timeouts: number
}

export function urlFor (target: Target, body: BodyName): string {
  return `${target.baseUrl}/${body}`
}

/** Load without recording: JIT, connection pools and caches settle before the measured rounds. */
export async function warmUp (target: Target, body: BodyName, options: LoadOptions): Promise<void> {
  await autocannon({ url: urlFor(target, body), connections: options.connections, duration: options.durationSeconds })
}

export async function measureRound (target: Target, body: BodyName, options: LoadOptions): Promise<RoundSample> {
  const ticksBefore = cpuTicks(target.child.pid)
  const result = await autocannon({
    url: urlFor(target, body),
    connections: options.connections,
    duration: options.durationSeconds
  })
  const ticksSpent = cpuTicks(target.child.pid) - ticksBefore
  const requests = result.requests.total
  return {
    requests,
    requestsPerSecond: result.duration > 0 ? requests / result.duration : 0,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    cpuMicrosPerRequest: requests > 0 ? (ticksSpent / options.clockTicksPerSecond) * 1e6 / requests : 0,
    rssBytes: rssBytes(target.child.pid),
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts
  }
}
