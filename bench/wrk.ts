/**
 * wrk as the load generator: `wrk -t1 -c<connections> -d<seconds>s --latency <url>` in its own process,
 * its text report parsed. wrk sends no Accept-Encoding, like the preflight check.
 */
import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { pinned, type CpuSet } from './cpu-affinity.js'
import type { LoadGenerator, LoadRequest, LoadResult, TrackProcess } from './load-generator.js'

const SNIPPET_CHARS = 2000

/** wrk's time units (format_time_us), in milliseconds. */
const MILLISECONDS_PER_UNIT: Readonly<Record<string, number>> = { us: 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 }

/** `cpus`: where wrk runs (beside the backend, away from the proxy under test); any when undefined. */
export async function wrkGenerator (path: string, track: TrackProcess, cpus?: CpuSet): Promise<LoadGenerator> {
  const version = await wrkVersion(path)
  return {
    name: 'wrk',
    description: `${version} (\`wrk -t1 --latency\`, one thread in its own process; p50/p99 at 10 µs resolution)`,
    run: (request) => runWrk(path, request, track, cpus)
  }
}

/** The first line of `wrk -v` ("wrk 4.2.0 [epoll] Copyright …"), which exits 1 after printing usage. */
function wrkVersion (path: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(path, ['-v'], { encoding: 'utf8' }, (_error, stdout) => {
      const first = stdout.split('\n')[0]?.replace(/\s*Copyright.*$/, '').trim()
      resolve(first !== undefined && first !== '' ? first : 'wrk')
    })
  })
}

async function runWrk (path: string, request: LoadRequest, track: TrackProcess, cpus: CpuSet | undefined): Promise<LoadResult> {
  const headerArgs = Object.entries(request.headers ?? {}).flatMap(([name, value]) => ['-H', `${name}: ${value}`])
  const args = ['-t1', `-c${request.connections}`, `-d${request.durationSeconds}s`, '--latency', ...headerArgs, request.url]
  const pinnedWrk = pinned({ command: path, args }, cpus)
  const child = spawn(pinnedWrk.command, pinnedWrk.args, { stdio: ['ignore', 'pipe', 'pipe'] })
  track(child)
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const [code, signal] = await once(child, 'close') as [number | null, NodeJS.Signals | null]
  // The command as reported: header values (a bearer token) are not worth printing.
  const command = `wrk ${args.map((arg, index) => args[index - 1] === '-H' ? `'${arg.split(':')[0] ?? ''}: …'` : arg).join(' ')}`
  if (code !== 0) {
    throw new Error(`${command} failed (code ${code}, signal ${signal}):\n${(stdout + stderr).slice(0, SNIPPET_CHARS)}`)
  }
  try {
    return parseWrkOutput(stdout)
  } catch (error) {
    throw new Error(`${command}: ${error instanceof Error ? error.message : String(error)}\n${stdout.slice(0, SNIPPET_CHARS)}`)
  }
}

/**
 * Parses wrk's report, e.g.
 *
 *   Latency Distribution
 *      50%  612.00us
 *      99%    2.31ms
 *   402214 requests in 5.00s, 93.12MB read
 *   Socket errors: connect 0, read 12, write 0, timeout 3     (only when there were any)
 *   Non-2xx or 3xx responses: 7                               (only when there were any; 3xx counts as success)
 * Requests/sec:  80440.12
 */
export function parseWrkOutput (text: string): LoadResult {
  const requests = /^\s*(\d+) requests in [\d.]+\w+, /m.exec(text)?.[1]
  const rate = /^Requests\/sec:\s+([\d.]+)\s*$/m.exec(text)?.[1]
  if (requests === undefined || rate === undefined) throw new Error('no "N requests in" or "Requests/sec:" line in the wrk output')
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text)
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1]
  return {
    requests: Number(requests),
    requestsPerSecond: Number(rate),
    p50Ms: percentile(text, '50'),
    p99Ms: percentile(text, '99'),
    non2xx: Number(non2xx ?? 0),
    errors: socket === null ? 0 : Number(socket[1]) + Number(socket[2]) + Number(socket[3]),
    timeouts: socket === null ? 0 : Number(socket[4])
  }
}

/** One line of the `--latency` distribution, in milliseconds; NaN when no request completed. */
function percentile (text: string, label: string): number {
  const match = new RegExp(`^\\s*${label}(?:\\.0+)?%\\s+([\\d.]+)(us|ms|s|m|h)\\s*$`, 'm').exec(text)
  if (match?.[1] === undefined || match[2] === undefined) {
    if (!/Latency Distribution/.test(text)) throw new Error('no latency distribution in the wrk output (is --latency passed?)')
    return Number.NaN
  }
  return Number(match[1]) * MILLISECONDS_PER_UNIT[match[2]]!
}
