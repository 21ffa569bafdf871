/**
 * The load generator behind every round: wrk when it is on PATH (a separate C process, `-t1`: one core's
 * worth at most, and far less CPU per request than autocannon, so the targets keep theirs), otherwise
 * autocannon inside the runner process. BENCH_LOAD_GENERATOR=wrk|autocannon picks one explicitly.
 */
import type { ChildProcess } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'
import { autocannonGenerator } from './autocannon-load.js'
import type { CpuSet } from './cpu-affinity.js'
import { wrkGenerator } from './wrk.js'

export const LOAD_GENERATOR_NAMES = ['wrk', 'autocannon'] as const
export type LoadGeneratorName = typeof LOAD_GENERATOR_NAMES[number]

export interface LoadRequest {
  readonly url: string
  readonly connections: number
  readonly durationSeconds: number
  /** Request headers sent with every request (e.g. Authorization for the full-stack target). */
  readonly headers?: Readonly<Record<string, string>>
}

/** What one run of the load generator saw. Latencies in milliseconds. */
export interface LoadResult {
  readonly requests: number
  readonly requestsPerSecond: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly non2xx: number
  /** Connection, read and write errors. */
  readonly errors: number
  readonly timeouts: number
}

export interface LoadGenerator {
  readonly name: LoadGeneratorName
  /** One line for the report header: version, command, where it runs, latency resolution. */
  readonly description: string
  run (request: LoadRequest): Promise<LoadResult>
}

/** Called with every process the generator spawns, so the runner can stop it on interrupt. */
export type TrackProcess = (child: ChildProcess) => void

/** The absolute path of an executable on PATH, or undefined. */
export function findOnPath (command: string, path: string | undefined = process.env.PATH): string | undefined {
  for (const directory of (path ?? '').split(delimiter)) {
    if (directory === '') continue
    const candidate = join(directory, command)
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // not here
    }
  }
  return undefined
}

/** `cpus`: where wrk runs; autocannon runs in the runner, wherever that is. */
export async function chooseLoadGenerator (preference: LoadGeneratorName | 'auto', track: TrackProcess, cpus?: CpuSet): Promise<LoadGenerator> {
  if (preference === 'autocannon') return autocannonGenerator()
  const wrk = findOnPath('wrk')
  if (wrk !== undefined) return wrkGenerator(wrk, track, cpus)
  if (preference === 'wrk') throw new Error('BENCH_LOAD_GENERATOR=wrk but wrk is not on PATH (Debian/Ubuntu: apt-get install wrk)')
  return autocannonGenerator()
}
