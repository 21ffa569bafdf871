/** Turning round samples into a summary per target and body, and the markdown report. */
import { BODY_NAMES, TARGET_NAMES, type BodyName, type RoundSample, type TargetName } from './measure.js'

export type SampleTable = Record<BodyName, Record<TargetName, RoundSample[]>>

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

export type SummaryTable = Record<BodyName, Record<TargetName, CellSummary>>

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
  readonly gatehouseLogLevel: string
}

const MB = 1024 * 1024

export function emptySampleTable (): SampleTable {
  const row = (): Record<TargetName, RoundSample[]> => ({ direct: [], baseline: [], gatehouse: [] })
  return { small: row(), large: row() }
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
  const row = (body: BodyName): Record<TargetName, CellSummary> => ({
    direct: summarizeCell(samples[body].direct),
    baseline: summarizeCell(samples[body].baseline),
    gatehouse: summarizeCell(samples[body].gatehouse)
  })
  return { small: row('small'), large: row('large') }
}

/** One line per target and body that saw a non-2xx status, a socket error or a timeout. */
export function findFaults (summaries: SummaryTable): string[] {
  const faults: string[] = []
  for (const body of BODY_NAMES) {
    for (const target of TARGET_NAMES) {
      const { non2xx, errors, timeouts } = summaries[body][target]
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
    ...renderEnvironment(environment),
    '',
    '| body | target | req/s median (min–max) | p50 ms | p99 ms | CPU µs/req | peak RSS MB | requests | non-2xx | errors |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...BODY_NAMES.flatMap((body) => TARGET_NAMES.map((target) => renderRow(body, target, summaries[body][target]))),
    '',
    '| body | req/s gatehouse/baseline | req/s gatehouse/direct | p99 gatehouse/baseline | p99 gatehouse/direct | CPU/req gatehouse/baseline | CPU/req gatehouse/direct |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...BODY_NAMES.map((body) => renderRatioRow(body, summaries[body])),
    ''
  ].join('\n')
}

function renderFaults (faults: readonly string[]): string[] {
  if (faults.length === 0) return []
  return ['**INVALID RUN: not every request succeeded, so these numbers measure failures, not the proxies.**', '', ...faults.map((fault) => `- ${fault}`), '']
}

function renderEnvironment (environment: BenchEnvironment): string[] {
  const e = environment
  return [
    `- date: ${e.date}`,
    `- node ${e.nodeVersion}, ${e.platform}, CPU: ${e.cpuModel} × ${e.cpuCount}, ` +
      `load average at start: ${e.loadAverage.map((load) => load.toFixed(2)).join(' ')}`,
    `- autocannon in the runner process: ${e.connections} connections, ${e.durationSeconds} s × ${e.rounds} rounds ` +
      `(targets interleaved per round), ${e.warmupSeconds} s warm-up per target and body`,
    `- gatehouse log level: ${e.gatehouseLogLevel} (stdout discarded; log lines are still formatted and written)`,
    '- req/s: min–max over rounds; p50/p99 (autocannon, 1 ms resolution) and CPU: median of rounds; RSS: peak of rounds',
    '- CPU µs/req: user+system time of the serving process only (direct = the backend; for the proxies the backend\'s CPU is not included)'
  ]
}

function renderRow (body: BodyName, target: TargetName, cell: CellSummary): string {
  return `| ${body} | ${target} | ${fixed(cell.rpsMedian, 0)} (${fixed(cell.rpsMin, 0)}–${fixed(cell.rpsMax, 0)}) | ` +
    `${milliseconds(cell.p50Ms)} | ${milliseconds(cell.p99Ms)} | ${fixed(cell.cpuMicrosPerRequest, 1)} | ` +
    `${fixed(cell.peakRssBytes / MB, 1)} | ${cell.requests} | ${cell.non2xx} | ${cell.errors + cell.timeouts} |`
}

function renderRatioRow (body: BodyName, row: Record<TargetName, CellSummary>): string {
  const { direct, baseline, gatehouse } = row
  return `| ${body} | ${ratio(gatehouse.rpsMedian, baseline.rpsMedian)} | ${ratio(gatehouse.rpsMedian, direct.rpsMedian)} | ` +
    `${ratio(gatehouse.p99Ms, baseline.p99Ms)} | ${ratio(gatehouse.p99Ms, direct.p99Ms)} | ` +
    `${ratio(gatehouse.cpuMicrosPerRequest, baseline.cpuMicrosPerRequest)} | ${ratio(gatehouse.cpuMicrosPerRequest, direct.cpuMicrosPerRequest)} |`
}

function fixed (value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a'
}

/** autocannon records whole milliseconds; only a median of an even number of rounds has a fraction. */
function milliseconds (value: number): string {
  return Number.isInteger(value) ? String(value) : fixed(value, 1)
}

function ratio (numerator: number, denominator: number): string {
  return denominator > 0 && Number.isFinite(numerator) ? `${(numerator / denominator).toFixed(2)}×` : 'n/a'
}
