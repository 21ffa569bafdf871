/**
 * `gatehouse start --workers N` as real processes (issue 6): a primary, its workers sharing one port, and
 * for the shared stores a second, separate gateway process on the same Redis. The CLI runs dist/: build first.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createServer, type AddressInfo, type Server } from 'node:net'
import { once } from 'node:events'
import { Redis } from 'ioredis'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/load.js'
import { CrashLoop, EARLY_EXIT_MS, MAX_EARLY_EXITS } from '../../src/cluster/crash-loop.js'
import { perWorkerStateWarning } from '../../src/cluster/per-worker-state.js'
import { sendRequest, type ClientResponse } from '../helpers/client.js'
import { spawnGatehouse, type GatehouseProcess } from '../helpers/process.js'
import { httpsGet, makeCertificates } from '../helpers/tls.js'
import { deleteKeys, redisAnswers, REDIS_URL, skipWithout, uniqueKeyPrefix } from '../helpers/redis.js'
import { writeServicesFile, type TempServicesFile } from '../helpers/services-file.js'
import { startUpstream, type TestUpstream, type UpstreamHandler } from '../helpers/upstream.js'

const redisMissing = skipWithout(`Redis at ${REDIS_URL}`, await redisAnswers(REDIS_URL))

type LogLine = Record<string, unknown>

const processes: GatehouseProcess[] = []
const cleanups: Array<() => Promise<void>> = []

afterEach(async () => {
  // Kill whatever a test left running: the primaries, and any worker of theirs (found in their logs).
  for (const gatehouse of processes.splice(0)) {
    const pids = [gatehouse.child.pid ?? 0, ...gatehouse.logs.flatMap((line) => typeof line.workerPid === 'number' ? [line.workerPid] : [])]
    for (const pid of pids) if (isGatehouse(pid)) process.kill(pid, 'SIGKILL')
    if (gatehouse.child.exitCode === null && gatehouse.child.signalCode === null) await gatehouse.exited
  }
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function upstreamFor (handler?: UpstreamHandler): Promise<TestUpstream> {
  const upstream = await startUpstream(handler)
  cleanups.push(() => upstream.close())
  return upstream
}

async function servicesFile (content: unknown, extraFiles: Record<string, string> = {}): Promise<TempServicesFile> {
  const file = await writeServicesFile(content, extraFiles)
  cleanups.push(() => file.remove())
  return file
}

function gatehouse (args: string[]): GatehouseProcess {
  const started = spawnGatehouse(args)
  processes.push(started)
  return started
}

const primaryLine = (msg: string) => (line: LogLine): boolean => line.role === 'primary' && line.msg === msg

/** Resolves with the first `count` log lines that match, as they arrive. */
async function waitForLogs (process: GatehouseProcess, match: (line: LogLine) => boolean, count: number): Promise<LogLine[]> {
  for (;;) {
    const found = process.logs.filter(match)
    if (found.length >= count) return found.slice(0, count)
    await process.waitForLog((line) => match(line) && !found.includes(line))
  }
}

interface RunningCluster {
  readonly primary: GatehouseProcess
  readonly url: string
  readonly workerPids: readonly number[]
}

/** `start --workers N` on a free port; resolves once the primary says every worker listens. */
async function startCluster (file: TempServicesFile, workers = 2): Promise<RunningCluster> {
  const primary = gatehouse(['start', '--workers', String(workers), '--config', file.path, '--host', '127.0.0.1', '--port', '0'])
  const started = await waitForLogs(primary, primaryLine('worker started'), workers)
  return { primary, url: String(started[0]?.url), workerPids: started.map((line) => Number(line.workerPid)) }
}

/** A single gateway process (no --workers), for the "other gateway on the same Redis" side. */
async function startSingle (file: TempServicesFile): Promise<{ process: GatehouseProcess, url: string }> {
  const single = gatehouse(['start', '--config', file.path, '--host', '127.0.0.1', '--port', '0'])
  const table = await single.waitForLog((line) => typeof line.msg === 'string' && line.msg.startsWith('routing table'))
  return { process: single, url: String(table.url) }
}

/**
 * The exit code, once stdout and stderr are read to their end too: 'exit' can come before the last lines
 * of a pipe, and the assertions after it read those lines.
 */
async function finished (process: GatehouseProcess): Promise<number | null> {
  const code = await process.exited
  // resume(): a stream nobody reads never ends.
  await Promise.all([process.child.stdout, process.child.stderr].map((stream) => stream.readableEnded ? undefined : once(stream.resume(), 'end')))
  return code
}

/** The processes whose parent is `pid` (the primary's workers). */
function childPids (pid: number): number[] {
  try {
    return execFileSync('ps', ['--ppid', String(pid), '-o', 'pid='], { encoding: 'utf8' }).split('\n').filter((text) => text.trim() !== '').map(Number)
  } catch {
    return [] // ps exits 1 when there are none
  }
}

/** Whether `pid` is a live (not zombie) gatehouse process: a pid reused by anything else counts as gone. */
function isGatehouse (pid: number): boolean {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0]
    return state !== 'Z' && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('gatehouse')
  } catch {
    return false
  }
}

/**
 * The pids of the processes that served the requests to `path`, once all `count` access log lines are in
 * (the workers log asynchronously: a line may arrive after its response).
 */
async function servingPids (process: GatehouseProcess, path: string, count: number): Promise<Set<number>> {
  const lines = await waitForLogs(process, (line) => line.msg === 'request' && line.path === path, count)
  return new Set(lines.map((line) => Number(line.pid)))
}

/** One GET on a fresh connection (so the cluster hands each one to a worker of its choice). */
function get (url: string, path = '/users/1', headers: Record<string, string> = {}): Promise<ClientResponse> {
  return sendRequest(url, { path, headers })
}

describe('gatehouse start --workers', () => {
  it('runs exactly as before with --workers 1: one process, no primary, no cluster', async () => {
    const upstream = await upstreamFor()
    const file = await servicesFile({ services: [{ name: 'users', prefix: '/users', upstreams: [upstream.url] }] })
    const single = gatehouse(['start', '--workers', '1', '--config', file.path, '--host', '127.0.0.1', '--port', '0'])
    const table = await single.waitForLog((line) => typeof line.msg === 'string' && line.msg.startsWith('routing table'))
    expect(table.pid).toBe(single.child.pid)
    expect((await get(String(table.url))).status).toBe(200)
    expect(childPids(single.child.pid ?? 0)).toEqual([])
    expect(single.logs.filter((line) => line.role === 'primary')).toEqual([])
    single.child.kill('SIGTERM')
    expect(await finished(single)).toBe(0)
  })

  it('refuses an invalid config with exit 2 and every problem once, before forking any worker', async () => {
    const file = await servicesFile({ services: [{ name: 'users', prefix: 'users', upstreams: ['${MISSING_URL}'] }] })
    const primary = gatehouse(['start', '--workers', '2', '--config', file.path])
    let stderr = ''
    primary.child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
    expect(await finished(primary)).toBe(2)
    expect(stderr).toContain('services[0].upstreams[0]: environment variable MISSING_URL is not set')
    expect(stderr).toContain('services[0].prefix')
    // A forked worker would have reported the same problems a second time, and the primary logged it.
    expect(stderr.split('MISSING_URL is not set')).toHaveLength(2)
    expect(primary.logs).toEqual([])
  })

  it('warns at startup that memory-store rate limits and cache are per worker, and how to share them', async () => {
    const upstream = await upstreamFor()
    const file = await servicesFile({
      gateway: { rateLimit: { perIp: { max: 100 } } },
      services: [{ name: 'users', prefix: '/users', upstreams: [upstream.url], cache: true }]
    })
    const { primary } = await startCluster(file)
    const warning = await primary.waitForLog((line) => line.role === 'primary' && line.level === 40)
    expect(warning.msg).toMatch(/^2 workers with the memory store: rate limits are counted per worker .*; the response cache is kept per worker/)
    expect(warning.msg).toContain('Set "store": "redis" in gateway.rateLimit and gateway.cache (with gateway.redis)')
    primary.child.kill('SIGTERM')
    expect(await finished(primary)).toBe(0)
  })

  it('on SIGTERM lets every worker finish its in-flight requests, then all exit 0 and no worker is left', async () => {
    let release: () => void = () => {}
    let slowArrived: () => void = () => {}
    const arrived = new Promise<void>((resolve) => { slowArrived = resolve })
    const upstream = await upstreamFor((request, response) => {
      if (request.url !== '/slow') {
        response.end('fast')
        return
      }
      release = () => response.end('finished')
      slowArrived()
    })
    const file = await servicesFile({ services: [{ name: 'users', prefix: '/users', upstreams: [upstream.url] }] })
    const { primary, url, workerPids } = await startCluster(file)
    const slow = get(url, '/users/slow')
    await arrived

    const signalled = Date.now()
    primary.child.kill('SIGTERM')
    await waitForLogs(primary, (line) => line.msg === 'draining: no new connections, waiting for in-flight requests', 2)
    release()
    expect((await slow).body).toBe('finished')
    expect(await finished(primary)).toBe(0)
    expect(Date.now() - signalled).toBeLessThan(5_000)
    const exits = primary.logs.filter(primaryLine('worker exited'))
    expect(exits.map((line) => [line.workerPid, line.code, line.signal]).sort()).toEqual(workerPids.map((pid) => [pid, 0, null]).sort())
    expect(workerPids.filter(isGatehouse)).toEqual([])
  })

  it('replaces a worker killed with SIGKILL, and requests keep succeeding on the survivor and the replacement', async () => {
    const upstream = await upstreamFor()
    const file = await servicesFile({ services: [{ name: 'users', prefix: '/users', upstreams: [upstream.url] }] })
    const { primary, url, workerPids } = await startCluster(file)
    const [victim, survivor] = workerPids as [number, number]

    process.kill(victim, 'SIGKILL')
    const crash = await primary.waitForLog(primaryLine('worker exited unexpectedly: replacing it'))
    expect(crash).toMatchObject({ workerPid: victim, signal: 'SIGKILL' })
    for (let i = 0; i < 4; i++) expect((await get(url)).status).toBe(200)

    const replacement = Number((await primary.waitForLog((line) => primaryLine('worker started')(line) && line.reason === 'replacement')).workerPid)
    expect(childPids(primary.child.pid ?? 0).sort()).toEqual([survivor, replacement].sort())
    for (let i = 0; i < 6; i++) expect((await get(url, '/users/after-replacement')).status).toBe(200)
    expect(await servingPids(primary, '/users/after-replacement', 6)).toEqual(new Set([survivor, replacement]))
  })

  it('restarts the workers one at a time on SIGHUP while a loop of requests sees no failure', async () => {
    const upstream = await upstreamFor()
    const file = await servicesFile({ services: [{ name: 'users', prefix: '/users', upstreams: [upstream.url] }] })
    const { primary, url, workerPids } = await startCluster(file)
    const statuses: number[] = []
    const looping = { on: true }
    const loop = (async () => {
      while (looping.on) statuses.push(await get(url).then((response) => response.status, () => 0))
    })()

    primary.child.kill('SIGHUP')
    const finished = await primary.waitForLog(primaryLine('rolling restart finished'))
    const after = statuses.length
    while (statuses.length < after + 5) await get(url).then((response) => statuses.push(response.status))
    looping.on = false
    await loop

    expect(statuses.filter((status) => status !== 200)).toEqual([])
    expect(statuses.length).toBeGreaterThan(20)
    const newPids = finished.workerPids as number[]
    expect(newPids).toHaveLength(2)
    expect(newPids.filter((pid) => workerPids.includes(pid))).toEqual([])
    expect(childPids(primary.child.pid ?? 0).sort()).toEqual([...newPids].sort())
    // Each old worker is stopped only after its replacement listens: never fewer than two workers serving.
    const steps = primary.logs
      .filter((line) => (primaryLine('worker started')(line) && line.reason === 'rolling restart') || primaryLine('worker exited')(line))
      .map((line) => line.msg === 'worker started' ? 'new worker listening' : 'old worker exited')
    expect(steps).toEqual(['new worker listening', 'old worker exited', 'new worker listening', 'old worker exited'])
  })

  it('refuses a SIGHUP restart with a services.json that became invalid: the workers keep serving', async () => {
    const upstream = await upstreamFor()
    const file = await servicesFile({ services: [{ name: 'users', prefix: '/users', upstreams: [upstream.url] }] })
    const { primary, url, workerPids } = await startCluster(file)
    await writeFile(file.path, JSON.stringify({ services: [{ name: 'users', prefix: 'users', upstreams: [upstream.url] }] }))

    primary.child.kill('SIGHUP')
    const refused = await primary.waitForLog((line) => line.role === 'primary' && typeof line.msg === 'string' && line.msg.startsWith('rolling restart refused'))
    expect(refused.msg).toContain('services[0].prefix')
    expect((await get(url)).status).toBe(200)
    expect(childPids(primary.child.pid ?? 0).sort()).toEqual([...workerPids].sort())
  })

  it('leaves a SIGHUP sent to a worker itself alone: the worker keeps serving and nothing restarts', async () => {
    const upstream = await upstreamFor()
    const file = await servicesFile({ services: [{ name: 'users', prefix: '/users', upstreams: [upstream.url] }] })
    const { primary, url, workerPids } = await startCluster(file)
    const [worker] = workerPids as [number]
    process.kill(worker, 'SIGHUP')
    // The signal is delivered before the next request reaches the worker; both workers answer a few.
    for (let i = 0; i < 4; i++) expect((await get(url)).status).toBe(200)
    expect(isGatehouse(worker)).toBe(true)
    expect(primary.logs.filter((line) => line.role === 'primary' && String(line.msg).startsWith('rolling restart'))).toEqual([])
    expect(primary.logs.filter(primaryLine('worker exited unexpectedly: replacing it'))).toEqual([])
  })

  it('serves HTTPS from every worker; SIGHUP to a worker reloads its certificate, SIGHUP to the primary rolls all of them onto the new one', async () => {
    const certificates = await makeCertificates()
    cleanups.push(() => certificates.remove())
    const renewed = await certificates.issue('renewed', { commonName: 'renewed.localhost' })
    const upstream = await upstreamFor()
    // File watching off: only the SIGHUPs can load the new certificate.
    const file = await servicesFile({
      gateway: { tls: { cert: 'tls.pem', key: 'tls.key', reload: false } },
      services: [{ name: 'users', prefix: '/users', upstreams: [upstream.url] }]
    }, { 'tls.pem': certificates.cert, 'tls.key': certificates.key })
    const { primary, url, workerPids } = await startCluster(file)
    expect(url).toMatch(/^https:/)
    const commonNames = async (): Promise<string[]> => {
      const answers = await Promise.all(Array.from({ length: 6 }, () => httpsGet(`${url}/users/1`, { ca: certificates.ca })))
      expect(answers.map((answer) => answer.status)).toEqual(Array.from({ length: 6 }, () => 200))
      return [...new Set(answers.map((answer) => String(answer.certificate.subject.CN)))].sort()
    }
    expect(await commonNames()).toEqual(['localhost'])
    for (const name of ['tls.pem', 'tls.key'] as const) {
      await writeFile(join(file.dir, `${name}.new`), name === 'tls.pem' ? renewed.cert : renewed.key)
      await rename(join(file.dir, `${name}.new`), join(file.dir, name))
    }

    const [first] = workerPids as [number]
    process.kill(first, 'SIGHUP')
    await primary.waitForLog((line) => line.msg === 'tls: certificate reloaded' && line.pid === first)
    expect(await commonNames()).toEqual(['localhost', 'renewed.localhost'])

    primary.child.kill('SIGHUP')
    await primary.waitForLog(primaryLine('rolling restart finished'))
    expect(await commonNames()).toEqual(['renewed.localhost'])
  })

  it(`gives up with exit 1 once workers exit within seconds of starting ${MAX_EARLY_EXITS} times in a row`, async () => {
    const taken = createServer()
    cleanups.push(() => new Promise((resolve) => taken.close(() => resolve())))
    const port = await listening(taken)
    const upstream = await upstreamFor()
    const file = await servicesFile({ services: [{ name: 'users', prefix: '/users', upstreams: [upstream.url] }] })
    const primary = gatehouse(['start', '--workers', '2', '--config', file.path, '--host', '127.0.0.1', '--port', String(port)])
    let stderr = ''
    primary.child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })

    expect(await finished(primary)).toBe(1)
    expect(stderr).toMatch(/could not start: .*EADDRINUSE/)
    expect(primary.logs.filter(primaryLine('worker exited unexpectedly: replacing it')).map((line) => line.replaceInMs)).toEqual([250, 500, 1000, 2000].slice(0, MAX_EARLY_EXITS - 1))
    expect(primary.logs.find((line) => line.role === 'primary' && line.level === 60)?.msg).toMatch(/^workers keep exiting right after they start: giving up/)
  })
})

describe.skipIf(redisMissing)('workers and another gateway process on one Redis', () => {
  const keyPrefix = uniqueKeyPrefix()
  // Generous Redis timeouts: on a loaded test machine a 250 ms command timeout would fail open (a request
  // not counted) or turn a hit into a miss, which is not what these tests are about.
  const redis = (name: string): Record<string, unknown> => ({ url: REDIS_URL, keyPrefix: `${keyPrefix}${name}:`, connectTimeout: 10_000, commandTimeout: 5_000 })
  afterAll(async () => { await deleteKeys(REDIS_URL, keyPrefix) })

  it(`has Redis at ${REDIS_URL}`, async () => {
    expect(await redisAnswers(REDIS_URL), `Redis must answer at ${REDIS_URL}`).toBe(true)
  })

  it('enforce one rate limit exactly: 40 requests over fresh connections under max 20 give 20 × 200 and 20 × 429', async () => {
    const upstream = await upstreamFor()
    const file = await servicesFile({
      gateway: { rateLimit: { store: 'redis' }, redis: redis('limit') },
      services: [{ name: 'users', prefix: '/users', upstreams: [upstream.url], rateLimit: { max: 20, window: 60_000, key: 'ip' } }]
    })
    const [cluster, other] = await Promise.all([startCluster(file), startSingle(file)])

    const targets = Array.from({ length: 40 }, (_, i) => i % 2 === 0 ? cluster.url : other.url)
    const statuses = (await Promise.all(targets.map((url) => get(url)))).map((response) => response.status)
    expect(statuses.filter((status) => status === 200)).toHaveLength(20)
    expect(statuses.filter((status) => status === 429)).toHaveLength(20)
    expect(upstream.requests).toHaveLength(20)
    // Both workers counted, not one of them.
    expect(await servingPids(cluster.primary, '/users/1', 20)).toEqual(new Set(cluster.workerPids))
    expect(cluster.primary.logs.filter((line) => line.role === 'primary' && line.level === 40)).toEqual([])
  })

  it('serve each other\'s cache entries: the upstream is called once', async () => {
    const upstream = await upstreamFor((_request, response) => {
      response.writeHead(200, { 'cache-control': 'public, max-age=60', 'content-type': 'text/plain' })
      response.end(`answer ${upstream.requests.length}`)
    })
    const file = await servicesFile({
      gateway: { cache: { store: 'redis' }, redis: redis('cache') },
      services: [{ name: 'users', prefix: '/users', upstreams: [upstream.url], cache: true }]
    })
    const [cluster, other] = await Promise.all([startCluster(file), startSingle(file)])

    // Cache keys carry the addressed origin: every process is asked as the one host it serves behind.
    const host = { host: 'api.example' }
    const first = await get(cluster.url, '/users/1', host)
    expect(first.headers['cache-status']).toMatch(/fwd=miss; stored/)
    // The store write ends after the response did: wait for the entry before asking the others.
    await entryStored(`${keyPrefix}cache:`)
    const answers = await Promise.all([cluster.url, cluster.url, cluster.url, other.url, other.url].map((url) => get(url, '/users/1', host)))
    expect(answers.map((answer) => [answer.body, String(answer.headers['cache-status']).replace(/; ttl=\d+$/, '')]))
      .toEqual(Array.from({ length: 5 }, () => ['answer 1', 'gatehouse; hit']))
    expect(upstream.requests).toHaveLength(1)
    expect(await servingPids(cluster.primary, '/users/1', 4)).toEqual(new Set(cluster.workerPids))
  })
})

describe('the crash-loop rule', () => {
  it('backs off early exits in a row and gives up at the limit', () => {
    const loop = new CrashLoop()
    const verdicts = Array.from({ length: MAX_EARLY_EXITS }, () => loop.crashed(100))
    expect(verdicts).toEqual([
      ...[250, 500, 1000, 2000].slice(0, MAX_EARLY_EXITS - 1).map((replaceAfterMs, i) => ({ replaceAfterMs, earlyExits: i + 1 })),
      { giveUp: true, earlyExits: MAX_EARLY_EXITS }
    ])
  })

  it('replaces a worker that ran past the early window at once, and that ends the streak', () => {
    const loop = new CrashLoop()
    loop.crashed(100)
    loop.crashed(100)
    expect(loop.crashed(EARLY_EXIT_MS)).toEqual({ replaceAfterMs: 0, earlyExits: 0 })
    expect(loop.crashed(100)).toEqual({ replaceAfterMs: 250, earlyExits: 1 })
  })

  it('starts the streak over once any worker survived the early window', () => {
    const loop = new CrashLoop()
    for (let i = 0; i < MAX_EARLY_EXITS - 1; i++) loop.crashed(100)
    loop.survived()
    expect(loop.crashed(100)).toEqual({ replaceAfterMs: 250, earlyExits: 1 })
  })
})

describe('the per-worker state warning', () => {
  const upstreams = ['http://127.0.0.1:3001']
  it.each([
    ['memory rate limits in use', { gateway: { rateLimit: { perIp: { max: 5 } } }, services: [] }, /rate limits are counted per worker \(a client may get up to 4 times its limit\)\. Set "store": "redis" in gateway\.rateLimit \(/],
    ['a memory cache in use', { services: [{ name: 'a', prefix: '/a', upstreams, cache: true }] }, /the response cache is kept per worker .* in gateway\.cache \(/],
    ['a service rate limit only', { services: [{ name: 'a', prefix: '/a', upstreams, rateLimit: { max: 5 } }] }, /rate limits are counted per worker/],
    ['no rate limit or cache anywhere', { services: [{ name: 'a', prefix: '/a', upstreams }] }, null],
    ['the Redis stores', {
      gateway: { rateLimit: { store: 'redis', perIp: { max: 5 } }, cache: { store: 'redis' }, redis: { url: 'redis://127.0.0.1:6379' } },
      services: [{ name: 'a', prefix: '/a', upstreams, cache: true }]
    }, null]
  ])('with %s', async (_name, file, expected) => {
    const warning = perWorkerStateWarning(await parseConfig(file), 4)
    if (expected === null) expect(warning).toBeNull()
    else expect(warning).toMatch(expected)
  })
})

async function listening (server: Server): Promise<number> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return (server.address() as AddressInfo).port
}

/** Polls Redis until a cache entry exists under `prefix` (the write lands a moment after the response). */
async function entryStored (prefix: string): Promise<void> {
  const client = new Redis(REDIS_URL)
  try {
    for (let attempt = 0; attempt < 100; attempt++) {
      if ((await client.keys(`${prefix}cache:*`)).length > 0) return
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    throw new Error(`no cache entry under ${prefix} within 2 s`)
  } finally {
    client.disconnect()
  }
}
