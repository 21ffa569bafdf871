/** The soak's verdicts (peak RSS, RSS flat after warm-up, no failed request) and its markdown report. */
import { MB, RSS_LIMIT_MB } from './goals.js'
import type { RoundSample } from './measure.js'

/** Warm-up before the flat check's reference sample: JIT, pools, caches and heap sizing settle in it. */
const WARM_SECONDS = 60
const FLAT_TOLERANCE = 0.1

/** RSS read from /proc at `seconds` of load; `load` is the interval that ended there (none for the idle sample at 0). */
export interface SoakSample {
  readonly seconds: number
  readonly rssBytes: number
  readonly load?: RoundSample
}

export interface SoakVerdict {
  readonly peakMb: number
  readonly peakPass: boolean
  readonly reference: SoakSample
  readonly end: SoakSample
  /** (end − reference) / reference, of RSS. */
  readonly drift: number
  readonly flatPass: boolean
  readonly faults: number
  readonly pass: boolean
}

export interface SoakHeader {
  readonly date: string
  readonly nodeVersion: string
  readonly loadGenerator: string
  /** Which CPUs the processes ran on (cpu-affinity.ts). */
  readonly placement: string
  readonly target: string
  readonly url: string
  readonly connections: number
  readonly seconds: number
  readonly intervalSeconds: number
}

/**
 * The flat check's reference is the first sample at or after one minute of load, or after half the soak when
 * it is shorter than two minutes (so there is something left to compare with); the end is the last sample.
 */
export function judgeSoak (samples: readonly SoakSample[], seconds: number): SoakVerdict {
  const end = samples.at(-1)
  if (end === undefined) throw new Error('the soak took no samples')
  const referenceAt = Math.min(WARM_SECONDS, seconds / 2)
  const reference = samples.find((sample) => sample.seconds >= referenceAt) ?? end
  const peakMb = Math.max(...samples.map((sample) => sample.rssBytes)) / MB
  const drift = (end.rssBytes - reference.rssBytes) / reference.rssBytes
  const faults = samples.reduce((total, { load }) => total + (load === undefined ? 0 : load.non2xx + load.errors + load.timeouts), 0)
  const peakPass = peakMb <= RSS_LIMIT_MB
  const flatPass = Math.abs(drift) <= FLAT_TOLERANCE
  return { peakMb, peakPass, reference, end, drift, flatPass, faults, pass: peakPass && flatPass && faults === 0 }
}

export function renderSoak (header: SoakHeader, samples: readonly SoakSample[], verdict: SoakVerdict): string {
  const h = header
  return [
    '# Gatehouse soak',
    '',
    `- date: ${h.date}; node ${h.nodeVersion}; load generator: ${h.loadGenerator}`,
    `- ${h.placement}`,
    `- target: ${h.target}`,
    `- ${h.connections} connections on ${h.url} for ${h.seconds} s, as one wrk run per ${h.intervalSeconds} s interval ` +
      '(each interval\'s req/s is its own; connections reopen at each boundary, a few ms apart)',
    '- RSS: VmRSS of the gateway process from /proc, read at the end of each interval (and once idle, at 0 s)',
    '',
    '| time s | RSS MB | req/s | CPU µs/req | non-2xx | errors |',
    '|---:|---:|---:|---:|---:|---:|',
    ...samples.map(renderRow),
    '',
    ...renderVerdict(verdict),
    ''
  ].join('\n')
}

function renderRow ({ seconds, rssBytes, load }: SoakSample): string {
  const mb = (rssBytes / MB).toFixed(1)
  if (load === undefined) return `| ${seconds} | ${mb} | idle | | | |`
  return `| ${seconds} | ${mb} | ${load.requestsPerSecond.toFixed(0)} | ${load.cpuMicrosPerRequest.toFixed(1)} | ${load.non2xx} | ${load.errors + load.timeouts} |`
}

function renderVerdict (v: SoakVerdict): string[] {
  const mb = (sample: SoakSample): string => `${(sample.rssBytes / MB).toFixed(1)} MB at ${sample.seconds} s`
  const verdict = (pass: boolean): string => pass ? 'PASS' : '**FAIL**'
  return [
    `- peak RSS ${v.peakMb.toFixed(1)} MB ≤ ${RSS_LIMIT_MB} MB: ${verdict(v.peakPass)}`,
    `- flat: RSS at the end (${mb(v.end)}) within ±${FLAT_TOLERANCE * 100} % of the reference (${mb(v.reference)}: the first sample ` +
      `at or after ${WARM_SECONDS} s of load, or after half the soak when it is shorter than ${2 * WARM_SECONDS} s); ` +
      `drift = (end − reference) / reference = ${signed(v.drift * 100)} %: ${verdict(v.flatPass)}`,
    `- failed requests (non-2xx, socket errors, timeouts): ${v.faults}: ${verdict(v.faults === 0)}`,
    `- soak: ${verdict(v.pass)}`
  ]
}

function signed (value: number): string {
  return `${value >= 0 ? '+' : ''}${value.toFixed(1)}`
}
