/**
 * `npm run bench`: the backend, a minimal Fastify + @fastify/http-proxy (logger off, and with Fastify's
 * default request log), nginx (plain and caching, when installed) and Gatehouse (access log on and off, the
 * access stack, HTTPS, a pool, compression, the cache) as child processes, loaded in interleaved rounds by
 * wrk (or autocannon when wrk is not on PATH); prints a markdown report and writes bench/results/latest.md.
 * BENCH_TARGETS chooses some targets. Exits 1 when any request failed: a fast error is not a fast proxy.
 */
import { cpus, loadavg, platform, release } from 'node:os'
import { assertAlive } from './children.js'
import { placeThisRun } from './cpu-affinity.js'
import { BenchLifecycle } from './lifecycle.js'
import { chooseLoadGenerator, type LoadGenerator } from './load-generator.js'
import { BODY_NAMES, measureRound, warmUp, type LoadOptions, type Target } from './measure.js'
import { checkTargets } from './preflight.js'
import { clockTicksPerSecond } from './proc-stats.js'
import { writeReportFile } from './report-file.js'
import { addSample, emptySampleTable, findFaults, renderReport, summarize, type BenchEnvironment, type SampleTable } from './report.js'
import { readSettings, type BenchSettings } from './settings.js'
import { startTargets } from './targets.js'

const lifecycle = new BenchLifecycle()

const progress = (message: string): void => { process.stderr.write(`${message}\n`) }

async function warmUpAll (targets: readonly Target[], options: LoadOptions): Promise<void> {
  for (const body of BODY_NAMES) {
    for (const target of targets) {
      assertAlive(target.child)
      await warmUp(target, body, options)
    }
  }
}

function rotated<T> (items: readonly T[], by: number): T[] {
  const shift = by % items.length
  return [...items.slice(shift), ...items.slice(0, shift)]
}

async function runRounds (targets: readonly Target[], rounds: number, options: LoadOptions): Promise<SampleTable> {
  const samples = emptySampleTable()
  for (let round = 1; round <= rounds; round++) {
    for (const body of BODY_NAMES) {
      // Rotate the order each round so no target always runs right after the same neighbour.
      for (const target of rotated(targets, round - 1)) {
        assertAlive(target.child)
        const sample = await measureRound(target, body, options)
        addSample(samples, body, target.name, sample)
        progress(`round ${round}/${rounds} ${body} ${target.name}: ${sample.requestsPerSecond.toFixed(0)} req/s, ` +
          `p99 ${sample.p99Ms.toFixed(2)} ms, ${sample.cpuMicrosPerRequest.toFixed(1)} µs CPU/req`)
      }
    }
  }
  return samples
}

function describeEnvironment (settings: BenchSettings, generator: LoadGenerator, placement: string): Omit<BenchEnvironment, 'notes'> {
  return {
    date: new Date().toISOString(),
    nodeVersion: process.version,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cpuCount: cpus().length,
    loadAverage: loadavg(),
    platform: `${platform()} ${release()}`,
    connections: settings.connections,
    durationSeconds: settings.durationSeconds,
    rounds: settings.rounds,
    warmupSeconds: settings.warmupSeconds,
    loadGenerator: generator.description,
    placement
  }
}

function shoutFaults (faults: readonly string[]): void {
  const bar = '!'.repeat(72)
  process.stderr.write(`\n${bar}\nBENCH FAILED: requests did not all succeed; the numbers above are not valid.\n`)
  for (const fault of faults) process.stderr.write(`  ${fault}\n`)
  process.stderr.write(`${bar}\n`)
}

async function bench (settings: BenchSettings): Promise<number> {
  const { affinity, placement } = placeThisRun()
  const generator = await chooseLoadGenerator(settings.loadGenerator, lifecycle.track, affinity?.support)
  // Load average before our own children start: what else was running on the machine.
  const environment = describeEnvironment(settings, generator, placement)
  progress(`load generator: ${generator.description}`)
  progress(environment.placement)
  progress(`load average: ${environment.loadAverage.map((load) => load.toFixed(2)).join(' ')}`)
  const { targets, notes } = await startTargets(settings.targets, lifecycle, affinity)
  notes.forEach(progress)
  const [direct, ...proxies] = targets
  if (direct === undefined) throw new Error('no direct target')
  await checkTargets(direct, proxies)
  const load = { generator, connections: settings.connections, clockTicksPerSecond: clockTicksPerSecond() }
  progress(`warming up (${settings.warmupSeconds} s per target and body)`)
  await warmUpAll(targets, { ...load, durationSeconds: settings.warmupSeconds })
  const samples = await runRounds(targets, settings.rounds, { ...load, durationSeconds: settings.durationSeconds })
  const summaries = summarize(samples)
  const markdown = renderReport({ ...environment, notes }, summaries)
  process.stdout.write(markdown)
  progress(`written to ${await writeReportFile('latest.md', markdown)}`)
  const faults = findFaults(summaries)
  if (faults.length === 0) return 0
  shoutFaults(faults)
  return 1
}

await lifecycle.runToExit('BENCH', progress, async () => await bench(readSettings()))
