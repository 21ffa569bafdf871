/**
 * `npm run bench:soak`: the backend and the gatehouse-full configuration, loaded by wrk with 50 connections
 * for SOAK_SECONDS (default 300) on the small body, the gateway's RSS read from /proc every 5 s. Prints a
 * markdown table and the verdicts, writes bench/results/soak.md, and exits 1 when a request failed or a
 * verdict did (peak RSS, RSS flat after the first minute): a leak shows up here, not in 5 s rounds.
 */
import { assertAlive } from './children.js'
import { placeThisRun } from './cpu-affinity.js'
import { MB } from './goals.js'
import { BenchLifecycle } from './lifecycle.js'
import { chooseLoadGenerator } from './load-generator.js'
import { measureRound, urlFor } from './measure.js'
import { checkTargets } from './preflight.js'
import { clockTicksPerSecond, rssBytes } from './proc-stats.js'
import { writeReportFile } from './report-file.js'
import { TARGET_DESCRIPTIONS } from './report.js'
import { readSoakSettings, type SoakSettings } from './settings.js'
import { judgeSoak, renderSoak, type SoakSample } from './soak-report.js'
import { startTargets } from './targets.js'

const BODY = 'small'
const lifecycle = new BenchLifecycle()

const progress = (message: string): void => { process.stderr.write(`${message}\n`) }

async function soak (settings: SoakSettings): Promise<number> {
  // wrk, never the in-process fallback: autocannon's own garbage would share the machine with the gateway for minutes.
  const { affinity, placement } = placeThisRun()
  progress(placement)
  const generator = await chooseLoadGenerator('wrk', lifecycle.track, affinity?.support)
  const { targets: [direct, gateway] } = await startTargets(['direct', 'gatehouse-full'], lifecycle, affinity)
  if (direct === undefined || gateway === undefined) throw new Error('the soak needs the backend and gatehouse-full')
  await checkTargets(direct, [gateway])
  const date = new Date().toISOString()
  const options = { generator, connections: settings.connections, clockTicksPerSecond: clockTicksPerSecond() }
  const samples: SoakSample[] = [{ seconds: 0, rssBytes: rssBytes(gateway.child.pid) }]
  progress(`soaking ${gateway.name} for ${settings.seconds} s (${settings.connections} connections, a sample every ${settings.intervalSeconds} s)`)
  for (let seconds = 0; seconds < settings.seconds;) {
    const durationSeconds = Math.min(settings.intervalSeconds, settings.seconds - seconds)
    assertAlive(gateway.child)
    const load = await measureRound(gateway, BODY, { ...options, durationSeconds })
    seconds += durationSeconds
    samples.push({ seconds, rssBytes: load.rssBytes, load })
    progress(`${seconds} s: ${(load.rssBytes / MB).toFixed(1)} MB RSS, ${load.requestsPerSecond.toFixed(0)} req/s`)
  }
  const verdict = judgeSoak(samples, settings.seconds)
  const markdown = renderSoak({
    date,
    nodeVersion: process.version,
    loadGenerator: generator.description,
    placement,
    target: `gatehouse-full: ${TARGET_DESCRIPTIONS['gatehouse-full']}`,
    url: new URL(urlFor(gateway, BODY)).pathname,
    connections: settings.connections,
    seconds: settings.seconds,
    intervalSeconds: settings.intervalSeconds
  }, samples, verdict)
  process.stdout.write(markdown)
  progress(`written to ${await writeReportFile('soak.md', markdown)}`)
  return verdict.pass ? 0 : 1
}

await lifecycle.runToExit('SOAK', progress, async () => await soak(readSoakSettings()))
