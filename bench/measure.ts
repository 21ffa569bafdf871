/** One load round against one target: the load generator on its URL, CPU and RSS of the target's process. */
import type { BenchChild } from './children.js'
import type { LoadGenerator } from './load-generator.js'
import { cpuTicks, rssBytes } from './proc-stats.js'

/** The order targets are loaded in, within each round and body. */
export const TARGET_NAMES = [
  'direct', 'baseline', 'baseline+log', 'nginx', 'gatehouse', 'gatehouse-quiet', 'gatehouse-full', 'gatehouse-https', 'gatehouse-pool',
  'gatehouse-plain', 'gatehouse-gzip', 'gatehouse-cached', 'gatehouse-cached-gzip', 'gatehouse-cached-miss', 'nginx-cache'
] as const
export const BODY_NAMES = ['small', 'large'] as const

export type TargetName = typeof TARGET_NAMES[number]
export type BodyName = typeof BODY_NAMES[number]

export interface Target {
  readonly name: TargetName
  /** The process that serves this target (for direct, the backend itself). */
  readonly child: BenchChild
  /** Base URL the body paths are appended to, e.g. http://127.0.0.1:4000/api */
  readonly baseUrl: string
  /** Headers every request to this target carries. */
  readonly headers?: Readonly<Record<string, string>>
  /** PEM of the CA an https:// target's certificate is checked with (the preflight verifies it; wrk does not). */
  readonly ca?: string
  /** Every measured request should be a cache hit: the preflight checks a repeat is one (Cache-Status: …; hit). */
  readonly cacheHits?: boolean
}

export interface LoadOptions {
  readonly generator: LoadGenerator
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

function headersOf (target: Target): { headers?: Readonly<Record<string, string>> } {
  return target.headers === undefined ? {} : { headers: target.headers }
}

export function urlFor (target: Target, body: BodyName): string {
  return `${target.baseUrl}/${body}`
}

/** Load without recording: JIT, connection pools and caches settle before the measured rounds. */
export async function warmUp (target: Target, body: BodyName, options: LoadOptions): Promise<void> {
  await options.generator.run({ url: urlFor(target, body), connections: options.connections, durationSeconds: options.durationSeconds, ...headersOf(target) })
}

export async function measureRound (target: Target, body: BodyName, options: LoadOptions): Promise<RoundSample> {
  const ticksBefore = cpuTicks(target.child.pid)
  const result = await options.generator.run({
    url: urlFor(target, body),
    connections: options.connections,
    durationSeconds: options.durationSeconds,
    ...headersOf(target)
  })
  const ticksSpent = cpuTicks(target.child.pid) - ticksBefore
  const { requests } = result
  return {
    requests,
    requestsPerSecond: result.requestsPerSecond,
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
    cpuMicrosPerRequest: requests > 0 ? (ticksSpent / options.clockTicksPerSecond) * 1e6 / requests : 0,
    rssBytes: rssBytes(target.child.pid),
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts
  }
}
