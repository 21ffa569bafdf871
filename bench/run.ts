/**
 * `npm run bench`: the backend, a minimal Fastify + @fastify/http-proxy (logger off, and with Fastify's
 * default request log) and Gatehouse (access log on and off, the access stack, HTTPS) as child processes, loaded in interleaved
 * rounds by wrk (or autocannon when wrk is not on PATH); prints a markdown report and writes
 * bench/results/latest.md. Exits 1 when any request failed: a fast error is not a fast proxy.
 */
import type { ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { once } from 'node:events'
import { createServer as createNetServer, type AddressInfo } from 'node:net'
import { cpus, loadavg, platform, release } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { benchCertificate, type BenchCertificate } from './certificate.js'
import { hasExited, killNow, startChild, stopChild, type BenchChild } from './children.js'
import { chooseLoadGenerator, type LoadGenerator } from './load-generator.js'
import { BODY_NAMES, measureRound, warmUp, type LoadOptions, type Target } from './measure.js'
import { checkTargets } from './preflight.js'
import { clockTicksPerSecond } from './proc-stats.js'
import { emptySampleTable, findFaults, renderReport, summarize, type BenchEnvironment, type SampleTable } from './report.js'
import { readSettings, type BenchSettings } from './settings.js'
import { benchToken } from './token.js'

const EXIT_INTERRUPTED = 130
/** Every process this runner started (servers and load generator runs) that may still be running. */
const children = new Set<ChildProcess>()
let interrupted = false
/** The HTTPS target's certificate directory, removed when the run ends. */
let certificate: BenchCertificate | undefined

const progress = (message: string): void => { process.stderr.write(`${message}\n`) }
const withoutTrailingSlash = (url: string): string => url.replace(/\/+$/, '')

function track (child: ChildProcess): void {
  children.add(child)
  child.once('exit', () => children.delete(child))
}

/** Starts every server; the result is in TARGET_NAMES order, direct first. */
async function startTargets (): Promise<Target[]> {
  // The pool target's two more replicas are more listeners of the same backend process.
  const replicaPorts = await sparePorts(2)
  const backend = await startChild({ name: 'backend', script: 'backend.js', env: { BACKEND_REPLICA_PORTS: replicaPorts.join(',') } }, track)
  const env = { BACKEND_URL: withoutTrailingSlash(backend.url) }
  const proxy = async (name: Exclude<Target['name'], 'direct'>, script: string, extra: Record<string, string>, headers?: Record<string, string>): Promise<Target> => {
    const child = await startChild({ name, script, env: { ...env, ...extra } }, track)
    return { name, child, baseUrl: `${withoutTrailingSlash(child.url)}/api`, ...(headers === undefined ? {} : { headers }) }
  }
  const token = await benchToken()
  certificate = await benchCertificate(packageRoot())
  const compressing = await proxy('gatehouse-plain', 'gateway.js', { GATEHOUSE_LOG_LEVEL: 'warn' })
  return [
    { name: 'direct', child: backend, baseUrl: withoutTrailingSlash(backend.url) },
    await proxy('baseline', 'baseline.js', { BASELINE_LOGGER: '0' }),
    await proxy('baseline+log', 'baseline.js', { BASELINE_LOGGER: '1' }),
    await proxy('gatehouse', 'gateway.js', { GATEHOUSE_LOG_LEVEL: 'info' }),
    await proxy('gatehouse-quiet', 'gateway.js', { GATEHOUSE_LOG_LEVEL: 'warn' }),
    await proxy('gatehouse-full', 'gateway.js', { GATEHOUSE_LOG_LEVEL: 'warn', GATEHOUSE_BENCH_STACK: 'full', GATEHOUSE_BENCH_SECRET: token.secret },
      { authorization: `Bearer ${token.token}` }),
    { ...await proxy('gatehouse-https', 'gateway.js', { GATEHOUSE_LOG_LEVEL: 'warn', GATEHOUSE_BENCH_TLS_DIR: certificate.dir }), ca: certificate.ca },
    await proxy('gatehouse-pool', 'gateway.js', { GATEHOUSE_LOG_LEVEL: 'warn', GATEHOUSE_BENCH_REPLICAS: replicaPorts.map((port) => `http://127.0.0.1:${port}`).join(',') }),
    // One process for both: the only difference is the header (separate processes differ by a few %, and
    // streaming gzip of the large body leaves its process slower for a while after).
    compressing,
    { ...compressing, name: 'gatehouse-gzip', headers: GZIP },
    ...cachedTargets(await proxy('gatehouse-cached', 'gateway.js', { GATEHOUSE_LOG_LEVEL: 'warn', GATEHOUSE_BENCH_CACHE: '1' }))
  ]
}

const GZIP = { 'accept-encoding': 'gzip' }

/**
 * One caching gateway serves every cache target (they are loaded one after the other, never together): hits
 * on /cached/*, and misses on the backend's uncacheable paths (every request goes through the cache's
 * lookup, policy and store decision, then upstream).
 */
function cachedTargets (cached: Target): Target[] {
  const baseUrl = `${cached.baseUrl}/cached`
  return [
    { ...cached, baseUrl },
    { ...cached, name: 'gatehouse-cached-gzip', baseUrl, headers: GZIP },
    { ...cached, name: 'gatehouse-cached-miss' }
  ]
}

/** Free loopback ports (free a moment ago: the backend listens on them right away). */
async function sparePorts (count: number): Promise<number[]> {
  const ports: number[] = []
  for (let index = 0; index < count; index++) {
    const server = createNetServer().listen(0, '127.0.0.1')
    await once(server, 'listening')
    ports.push((server.address() as AddressInfo).port)
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  return ports
}

function assertAlive (child: BenchChild): void {
  if (!hasExited(child.process)) return
  throw new Error(`${child.name} (pid ${child.pid}) exited during the bench:\n${child.stderrTail.join('\n')}`)
}

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
        samples[body][target.name].push(sample)
        progress(`round ${round}/${rounds} ${body} ${target.name}: ${sample.requestsPerSecond.toFixed(0)} req/s, ` +
          `p99 ${sample.p99Ms.toFixed(2)} ms, ${sample.cpuMicrosPerRequest.toFixed(1)} µs CPU/req`)
      }
    }
  }
  return samples
}

function describeEnvironment (settings: BenchSettings, generator: LoadGenerator): BenchEnvironment {
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
    loadGenerator: generator.description
  }
}

/** The repository root (where package.json is), whether this runs from bench/ or dist/bench/. */
function packageRoot (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir)
    if (parent === dir) return process.cwd()
    dir = parent
  }
  return dir
}

async function writeReport (markdown: string): Promise<string> {
  const directory = join(packageRoot(), 'bench', 'results')
  await mkdir(directory, { recursive: true })
  const file = join(directory, 'latest.md')
  await writeFile(file, markdown)
  return file
}

function shoutFaults (faults: readonly string[]): void {
  const bar = '!'.repeat(72)
  process.stderr.write(`\n${bar}\nBENCH FAILED: requests did not all succeed; the numbers above are not valid.\n`)
  for (const fault of faults) process.stderr.write(`  ${fault}\n`)
  process.stderr.write(`${bar}\n`)
}

async function bench (settings: BenchSettings): Promise<number> {
  const generator = await chooseLoadGenerator(settings.loadGenerator, track)
  // Load average before our own children start: what else was running on the machine.
  const environment = describeEnvironment(settings, generator)
  progress(`load generator: ${generator.description}`)
  progress(`load average: ${environment.loadAverage.map((load) => load.toFixed(2)).join(' ')}`)
  const targets = await startTargets()
  const [direct, ...proxies] = targets
  if (direct === undefined) throw new Error('no direct target')
  await checkTargets(direct, proxies)
  const load = { generator, connections: settings.connections, clockTicksPerSecond: clockTicksPerSecond() }
  progress(`warming up (${settings.warmupSeconds} s per target and body)`)
  await warmUpAll(targets, { ...load, durationSeconds: settings.warmupSeconds })
  const samples = await runRounds(targets, settings.rounds, { ...load, durationSeconds: settings.durationSeconds })
  const summaries = summarize(samples)
  const markdown = renderReport(environment, summaries)
  process.stdout.write(markdown)
  progress(`written to ${await writeReport(markdown)}`)
  const faults = findFaults(summaries)
  if (faults.length === 0) return 0
  shoutFaults(faults)
  return 1
}

async function stopAll (): Promise<void> {
  await Promise.all([...children].map(stopChild))
}

function installCleanup (): void {
  const interrupt = (): void => {
    interrupted = true
    progress('interrupted: stopping the child servers')
    stopAll().finally(() => process.exit(EXIT_INTERRUPTED))
  }
  process.once('SIGINT', interrupt)
  process.once('SIGTERM', interrupt)
  process.once('exit', () => children.forEach(killNow))
}

async function main (): Promise<void> {
  installCleanup()
  try {
    process.exitCode = await bench(readSettings())
  } catch (error) {
    // On interrupt the stopped children make the run fail; that is not news.
    if (interrupted) return
    process.stderr.write(`\nBENCH FAILED: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exitCode = 1
  } finally {
    await stopAll()
    await certificate?.remove()
  }
}

await main()
