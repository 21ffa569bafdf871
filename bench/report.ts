/** Turning round samples into a summary per target and body, and the markdown report. */
import { evaluateGoals, MB, renderGoals } from './goals.js'
import { BODY_NAMES, TARGET_NAMES, type BodyName, type RoundSample, type TargetName } from './measure.js'

/** Samples of the targets that ran (BENCH_TARGETS may choose some; nginx may be missing). */
export type SampleTable = Record<BodyName, Partial<Record<TargetName, RoundSample[]>>>

export interface CellSummary {
  readonly rpsMedian: number
  readonly rpsMin: number
  readonly rpsMax: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly cpuMicrosPerRequest: number
  readonly peakRssBytes: number
  readonly requests: number
  readonly non2xx: number
  readonly errors: number
  readonly timeouts: number
}

export type SummaryTable = Record<BodyName, Partial<Record<TargetName, CellSummary>>>

export interface BenchEnvironment {
  readonly date: string
  readonly nodeVersion: string
  readonly cpuModel: string
  readonly cpuCount: number
  /** 1, 5 and 15 minute load averages when the bench started: other work on the machine skews the numbers. */
  readonly loadAverage: readonly number[]
  readonly platform: string
  readonly connections: number
  readonly durationSeconds: number
  readonly rounds: number
  readonly warmupSeconds: number
  /** The report header's line for the load generator (name, version, command). */
  readonly loadGenerator: string
  /** Which CPUs the processes ran on (cpu-affinity.ts). */
  readonly placement: string
  /** Chosen targets that could not run, and why. */
  readonly notes: readonly string[]
}

/** What each target is, for the report's legend. */
export const TARGET_DESCRIPTIONS: Readonly<Record<TargetName, string>> = {
  direct: 'the backend itself, no proxy (bare Fastify, logger off)',
  baseline: 'minimal Fastify + @fastify/http-proxy, defaults, logger off',
  nginx: 'nginx as a reverse proxy (one process: master_process off, worker_processes 1; upstream keepalive 64, HTTP/1.1, access_log off)',
  'baseline+log': 'the same with `logger: true`: Fastify\'s default request log, 2 JSON lines per request, written synchronously to stdout',
  gatehouse: 'Gatehouse, log level info: 1 access-log line per request through an asynchronous pino destination to stdout',
  'gatehouse-quiet': 'Gatehouse, log level warn: no access log',
  'gatehouse-full': 'Gatehouse, log level warn, with the access-control stack: JWT auth (HS256, a bearer token on every request, so the verified-token cache answers), the per-IP tier and the per-subject tier (memory store; limits high enough never to refuse), and `Accept-Encoding: gzip` on every request (small: under the threshold, passes through; large: gzipped as it streams); cache miss (no cache)',
  'gatehouse-pool': 'Gatehouse, log level warn, with three replicas (three listeners of the one backend process) under least-request: the pool dispatcher picks per request, outlier detection on',
  'gatehouse-https': 'Gatehouse, log level warn, terminating HTTPS (TLS 1.3, ECDSA P-256 certificate, HTTP/1.1 keep-alive: handshakes only when a connection opens) in front of the same plain-HTTP backend',
  'gatehouse-plain': 'a second gatehouse-quiet process, without Accept-Encoding: the reference of gatehouse-gzip',
  'gatehouse-gzip': 'the gatehouse-plain process with `Accept-Encoding: gzip` on every request: the small body (under the 1 KB threshold) passes through, the large one is gzipped as it streams',
  'gatehouse-cached': 'Gatehouse, log level warn, cache on (memory store); the backend answers `Cache-Control: public, max-age=3600`, so every measured request is a cache hit',
  'gatehouse-cached-gzip': 'gatehouse-cached with `Accept-Encoding: gzip`: hits served from the gzip copy made once per stored body',
  'gatehouse-cached-miss': 'the gatehouse-cached process on the backend\'s uncacheable paths: every request is a cache miss (lookup, policy, hit-for-pass) proxied upstream',
  'nginx-cache': 'the nginx process on /api/cached/*, through proxy_cache (cache files in its temp dir): every measured request is a hit, the reference of gatehouse-cached'
}

/** The ratios table: each row divides the first target's numbers by the second's; left out when either did not run. */
const COMPARISONS: ReadonlyArray<readonly [TargetName, TargetName]> = [
  ['gatehouse', 'baseline'],
  ['gatehouse-quiet', 'nginx'],
  ['baseline', 'nginx'],
  ['gatehouse-quiet', 'baseline'],
  ['gatehouse', 'baseline+log'],
  ['gatehouse', 'direct'],
  ['gatehouse-full', 'gatehouse-quiet'],
  ['gatehouse-full', 'baseline'],
  ['gatehouse-https', 'gatehouse-quiet'],
  ['gatehouse-pool', 'gatehouse-quiet'],
  ['gatehouse-gzip', 'gatehouse-plain'],
  ['gatehouse-cached', 'gatehouse-quiet'],
  ['gatehouse-cached', 'gatehouse-cached-miss'],
  ['gatehouse-cached-miss', 'gatehouse-quiet'],
  ['gatehouse-cached-gzip', 'gatehouse-quiet'],
  ['gatehouse-cached', 'nginx-cache'],
  // What bare Fastify (the backend: no logger, no hooks, a precomputed body) reaches against the two cache
  // goals' references in the same run: the floor of any Fastify server, so a goal near it is read as such.
  ['gatehouse-cached', 'direct'],
  ['direct', 'gatehouse-quiet'],
  ['direct', 'nginx-cache']
]

export function emptySampleTable (): SampleTable {
  return { small: {}, large: {} }
}

export function addSample (samples: SampleTable, body: BodyName, target: TargetName, sample: RoundSample): void {
  (samples[body][target] ??= []).push(sample)
}

/** The targets in `row`, in TARGET_NAMES order. */
function present<T> (row: Partial<Record<TargetName, T>>): TargetName[] {
  return TARGET_NAMES.filter((target) => row[target] !== undefined)
}

export function median (values: readonly number[]): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

const sum = (values: readonly number[]): number => values.reduce((total, value) => total + value, 0)

export function summarizeCell (samples: readonly RoundSample[]): CellSummary {
  const rps = samples.map((sample) => sample.requestsPerSecond)
  return {
    rpsMedian: median(rps),
    rpsMin: Math.min(...rps),
    rpsMax: Math.max(...rps),
    p50Ms: median(samples.map((sample) => sample.p50Ms)),
    p99Ms: median(samples.map((sample) => sample.p99Ms)),
    cpuMicrosPerRequest: median(samples.map((sample) => sample.cpuMicrosPerRequest)),
    peakRssBytes: Math.max(...samples.map((sample) => sample.rssBytes)),
    requests: sum(samples.map((sample) => sample.requests)),
    non2xx: sum(samples.map((sample) => sample.non2xx)),
    errors: sum(samples.map((sample) => sample.errors)),
    timeouts: sum(samples.map((sample) => sample.timeouts))
  }
}

export function summarize (samples: SampleTable): SummaryTable {
  const row = (body: BodyName): Partial<Record<TargetName, CellSummary>> =>
    Object.fromEntries(present(samples[body]).map((target) => [target, summarizeCell(samples[body][target] ?? [])]))
  return { small: row('small'), large: row('large') }
}

/** One line per target and body that saw a non-2xx status, a socket error or a timeout. */
export function findFaults (summaries: SummaryTable): string[] {
  const faults: string[] = []
  for (const body of BODY_NAMES) {
    for (const target of present(summaries[body])) {
      const { non2xx, errors, timeouts } = summaries[body][target]!
      if (non2xx + errors + timeouts > 0) faults.push(`${target} ${body}: ${non2xx} non-2xx, ${errors} errors, ${timeouts} timeouts`)
    }
  }
  return faults
}

export function renderReport (environment: BenchEnvironment, summaries: SummaryTable): string {
  return [
    '# Gatehouse benchmark',
    '',
    ...renderFaults(findFaults(summaries)),
    ...renderEnvironment(environment, present(summaries.small)),
    '',
    '| body | target | req/s median (min–max) | p50 ms | p99 ms | CPU µs/req | peak RSS MB | requests | non-2xx | errors |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...BODY_NAMES.flatMap((body) => present(summaries[body]).map((target) => renderRow(body, target, summaries[body][target]!))),
    '',
    ...renderRatios(summaries),
    ...renderGoals(evaluateGoals(summaries))
  ].join('\n')
}

function renderFaults (faults: readonly string[]): string[] {
  if (faults.length === 0) return []
  return ['**INVALID RUN: not every request succeeded, so these numbers measure failures, not the proxies.**', '', ...faults.map((fault) => `- ${fault}`), '']
}

function renderEnvironment (environment: BenchEnvironment, targets: readonly TargetName[]): string[] {
  const e = environment
  return [
    `- date: ${e.date}`,
    `- node ${e.nodeVersion}, ${e.platform}, CPU: ${e.cpuModel} × ${e.cpuCount}, ` +
      `load average at start: ${e.loadAverage.map((load) => load.toFixed(2)).join(' ')}`,
    ...e.notes.map((note) => `- **${note}**`),
    `- load generator: ${e.loadGenerator}`,
    `- ${e.placement}`,
    `- ${e.connections} connections, ${e.durationSeconds} s × ${e.rounds} round${e.rounds === 1 ? '' : 's'} (targets interleaved per round and body), ` +
      `${e.warmupSeconds} s warm-up per target and body`,
    '- req/s: median (min–max) over rounds; p50/p99 and CPU: median of rounds; RSS: peak of rounds',
    '- CPU µs/req: user+system time of the serving process only (direct = the backend; for the proxies the backend\'s CPU is not included)',
    '- every child\'s stdout goes to /dev/null: log lines are still formatted and written, nobody reads them',
    '- targets:',
    ...targets.map((target) => `  - ${target}: ${TARGET_DESCRIPTIONS[target]}`)
  ]
}

function renderRow (body: BodyName, target: TargetName, cell: CellSummary): string {
  return `| ${body} | ${target} | ${fixed(cell.rpsMedian, 0)} (${fixed(cell.rpsMin, 0)}–${fixed(cell.rpsMax, 0)}) | ` +
    `${milliseconds(cell.p50Ms)} | ${milliseconds(cell.p99Ms)} | ${fixed(cell.cpuMicrosPerRequest, 1)} | ` +
    `${fixed(cell.peakRssBytes / MB, 1)} | ${cell.requests} | ${cell.non2xx} | ${cell.errors + cell.timeouts} |`
}

/** The ratio rows whose two targets both ran, under their header; nothing when there are none. */
function renderRatios (summaries: SummaryTable): string[] {
  const rows = BODY_NAMES.flatMap((body) => COMPARISONS.flatMap(([numerator, denominator]) => {
    const [top, bottom] = [summaries[body][numerator], summaries[body][denominator]]
    return top === undefined || bottom === undefined ? [] : [renderRatioRow(body, top, bottom, `${numerator} / ${denominator}`)]
  }))
  if (rows.length === 0) return []
  return ['| body | ratio | req/s | p99 | CPU µs/req |', '|---|---|---:|---:|---:|', ...rows, '']
}

function renderRatioRow (body: BodyName, numerator: CellSummary, denominator: CellSummary, label: string): string {
  return `| ${body} | ${label} | ${ratio(numerator.rpsMedian, denominator.rpsMedian)} | ` +
    `${ratio(numerator.p99Ms, denominator.p99Ms)} | ${ratio(numerator.cpuMicrosPerRequest, denominator.cpuMicrosPerRequest)} |`
}

function fixed (value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a'
}

/** wrk reports latencies to 10 µs, autocannon to whole milliseconds. */
function milliseconds (value: number): string {
  return Number.isInteger(value) ? String(value) : fixed(value, 2)
}

function ratio (numerator: number, denominator: number): string {
  return denominator > 0 && Number.isFinite(numerator) ? `${(numerator / denominator).toFixed(2)}×` : 'n/a'
}
