/**
 * Zero-downtime reload (issue 6): a new configuration is built beside the running one and switched in
 * at the listener; requests in flight finish where they started, unchanged upstream pools and every
 * store carry over, and a configuration that is invalid, does not build or changes the listener is
 * refused while the running one keeps serving.
 */
import { once } from 'node:events'
import { Writable } from 'node:stream'
import { connect, type AddressInfo } from 'node:net'
import { utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import pino from 'pino'
import { Pool } from 'undici'
import WebSocket from 'ws'
import { afterEach, describe, expect, it } from 'vitest'
import type { RunningGateway } from '../../src/server.js'
import { startGateway } from '../../src/server.js'
import { parseConfig } from '../../src/config/load.js'
import type { GatewayConfig } from '../../src/config/types.js'
import { configFor, type ServicesFileValue } from '../helpers/gateway.js'
import { sendRequest } from '../helpers/client.js'
import { writeServicesFile, type TempServicesFile } from '../helpers/services-file.js'
import { startUpstream, type TestUpstream, type UpstreamHandler } from '../helpers/upstream.js'
import { startWebSocketUpstream } from '../helpers/ws-upstream.js'

const cleanups: Array<() => Promise<void>> = []
/** A services.json directory a test wrote (plugins, files to reload from). */
let file: TempServicesFile | undefined
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  await file?.remove()
  file = undefined
})

/** An upstream that answers 200 with its own name, and counts the connections it accepted. */
async function namedUpstream (name: string, delayMs = 0): Promise<TestUpstream & { connections: () => number }> {
  const handler: UpstreamHandler = (_request, response) => {
    const answer = (): void => {
      response.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(name) })
      response.end(name)
    }
    if (delayMs === 0) answer()
    else setTimeout(answer, delayMs)
  }
  const upstream = await startUpstream(handler)
  let connections = 0
  upstream.server.on('connection', () => { connections++ })
  cleanups.push(() => upstream.close())
  return { ...upstream, connections: () => connections }
}

interface LogCapture {
  readonly lines: Array<Record<string, unknown>>
  readonly logger: pino.Logger
}

function captureLogs (): LogCapture {
  const lines: Array<Record<string, unknown>> = []
  const sink = new Writable({
    write (chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString('utf8').split('\n')) if (text !== '') lines.push(JSON.parse(text) as Record<string, unknown>)
      done()
    }
  })
  return { lines, logger: pino({ level: 'info' }, sink) }
}

async function start (file: ServicesFileValue | GatewayConfig, logs = captureLogs()): Promise<RunningGateway> {
  const config = 'services' in file && 'gateway' in file && !('source' in file) ? await configFor(file as ServicesFileValue) : file as GatewayConfig
  const running = await startGateway(config, { host: '127.0.0.1', port: 0 }, { loggerInstance: logs.logger })
  cleanups.push(() => running.close())
  return running
}

function service (name: string, upstream: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, prefix: `/${name}`, upstreams: [upstream], ...extra }
}

describe('a reload under continuous load', () => {
  it('drops no request, other than those to a service the reload removed, across a reload every second', async () => {
    const stable = await namedUpstream('stable')
    const movingBefore = await namedUpstream('moving-before')
    const movingAfter = await namedUpstream('moving-after')
    const toggled = await namedUpstream('toggled')
    const configs = [
      { gateway: {}, services: [service('stable', stable.url), service('moving', movingBefore.url), service('toggled', toggled.url)] },
      { gateway: {}, services: [service('stable', stable.url), service('moving', movingAfter.url), service('added', toggled.url)] }
    ]
    const running = await start(configs[0] as ServicesFileValue)
    const parsed = await Promise.all(configs.map(async (file) => configFor(file as ServicesFileValue)))

    const client = new Pool(running.url, { connections: 8, pipelining: 1 })
    cleanups.push(() => client.close())
    const tally = new Map<string, Map<string, number>>()
    const failures: string[] = []
    const load = { running: true }
    const paths = ['/stable/x', '/moving/x', '/toggled/x', '/added/x']
    const removable = new Set(['/toggled/x', '/added/x'])
    const loop = async (offset: number): Promise<void> => {
      for (let index = offset; load.running; index++) {
        const path = paths[index % paths.length] as string
        try {
          const { statusCode, body } = await client.request({ method: 'GET', path })
          const text = await body.text()
          const outcome = statusCode === 200 ? text : String(statusCode)
          const counts = tally.get(path) ?? new Map<string, number>()
          counts.set(outcome, (counts.get(outcome) ?? 0) + 1)
          tally.set(path, counts)
          if (statusCode !== 200 && !(statusCode === 404 && removable.has(path))) failures.push(`${path}: ${statusCode} ${text}`)
        } catch (error) {
          failures.push(`${path}: ${(error as Error).message}`)
        }
      }
    }
    const loops = Array.from({ length: 8 }, async (_, offset) => loop(offset))
    for (let reload = 1; reload <= 6; reload++) {
      await new Promise((resolve) => setTimeout(resolve, 1_000))
      const result = await running.reload(parsed[reload % 2])
      expect(result.outcome).toBe('applied')
    }
    await new Promise((resolve) => setTimeout(resolve, 300))
    load.running = false
    await Promise.all(loops)

    expect(failures).toEqual([])
    expect(tally.get('/stable/x')).toEqual(new Map([['stable', expect.any(Number)]]))
    expect([...(tally.get('/moving/x')?.keys() ?? [])].sort()).toEqual(['moving-after', 'moving-before'])
    expect([...(tally.get('/toggled/x')?.keys() ?? [])].sort()).toEqual(['404', 'toggled'])
    expect([...(tally.get('/added/x')?.keys() ?? [])].sort()).toEqual(['404', 'toggled'])
    // The unchanged service kept its pool: its keep-alive connections were never reopened.
    expect(stable.connections()).toBeLessThanOrEqual(8)
    expect(stable.requests.length).toBeGreaterThan(100)
  }, 20_000)
})

describe('a reload with requests in flight', () => {
  it('lets a request that started before the reload finish on the configuration it started on', async () => {
    const slow = await namedUpstream('slow-before', 400)
    const after = await namedUpstream('after')
    const running = await start({ gateway: {}, services: [service('api', slow.url)] })
    const pending = sendRequest(running.url, { path: '/api/x' })
    await new Promise((resolve) => setTimeout(resolve, 100))
    const result = await running.reload(await configFor({ gateway: {}, services: [service('api', after.url)] }))
    expect(result).toEqual({ outcome: 'applied', services: { added: [], removed: [], changed: ['api'] } })
    expect((await sendRequest(running.url, { path: '/api/x' })).body).toBe('after')
    const finished = await pending
    expect(finished.status).toBe(200)
    expect(finished.body).toBe('slow-before')
    // The old pool closes once its request is done: no connection is left open to the old upstream.
    await expect.poll(() => slow.openSockets(), { timeout: 3_000 }).toBe(0)
  })
})

describe('a reload after a client left with pipelined requests', () => {
  it('closes the previous configuration at the drain timeout at the latest, though Node never closes the response queued behind the first', async () => {
    const slow = await namedUpstream('slow', 300)
    const after = await namedUpstream('after')
    const logs = captureLogs()
    const running = await start({ gateway: { timeouts: { drain: 1_000 } }, services: [service('api', slow.url)] }, logs)
    const { port } = running.server.address() as AddressInfo
    const client = connect(port, '127.0.0.1')
    await once(client, 'connect')
    client.write('GET /api/one HTTP/1.1\r\nhost: x\r\n\r\nGET /api/two HTTP/1.1\r\nhost: x\r\n\r\n')
    await new Promise((resolve) => setTimeout(resolve, 50))
    client.destroy()
    expect((await running.reload(await configFor({ gateway: { timeouts: { drain: 1_000 } }, services: [service('api', after.url)] }))).outcome).toBe('applied')
    // The old configuration closes, and with it its pool's connections to the old upstream.
    await expect.poll(() => slow.openSockets(), { timeout: 4_000 }).toBe(0)
    expect(logs.lines).toContainEqual(expect.objectContaining({ msg: 'reload: the previous configuration still had requests at the drain timeout', inFlight: 1 }))
  })
})

describe('what a reload carries over', () => {
  it('keeps rate-limit counters: a reload does not hand callers a fresh allowance', async () => {
    const upstream = await namedUpstream('api')
    const other = await namedUpstream('other')
    const limited = service('api', upstream.url, { rateLimit: { max: 3, window: 60_000, key: 'ip' } })
    const running = await start({ gateway: {}, services: [limited] })
    expect((await sendRequest(running.url, { path: '/api/a' })).status).toBe(200)
    expect((await sendRequest(running.url, { path: '/api/a' })).status).toBe(200)
    const result = await running.reload(await configFor({ gateway: {}, services: [limited, service('other', other.url)] }))
    expect(result.outcome).toBe('applied')
    expect((await sendRequest(running.url, { path: '/api/a' })).status).toBe(200)
    const refused = await sendRequest(running.url, { path: '/api/a' })
    expect(refused.status).toBe(429)
    expect(refused.json()).toMatchObject({ code: 'GATEHOUSE_RATE_LIMITED' })
  })

  it('keeps cached answers: the first request after a reload is a hit', async () => {
    let served = 0
    const upstream = await startUpstream((_request, response) => {
      served++
      response.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'public, max-age=60', 'content-length': '6' })
      response.end('cached')
    })
    cleanups.push(() => upstream.close())
    const other = await namedUpstream('other')
    const cached = service('api', upstream.url, { cache: true })
    const running = await start({ gateway: {}, services: [cached] })
    expect((await sendRequest(running.url, { path: '/api/a' })).headers['cache-status']).toContain('fwd=miss')
    await running.reload(await configFor({ gateway: {}, services: [cached, service('other', other.url)] }))
    const hit = await sendRequest(running.url, { path: '/api/a' })
    expect(hit.body).toBe('cached')
    expect(hit.headers['cache-status']).toMatch(/^gatehouse; hit/)
    expect(served).toBe(1)
  })
})

describe('a reload that is refused', () => {
  it('keeps serving the running configuration when the file is invalid, and logs every problem with its path', async () => {
    const upstream = await namedUpstream('api')
    const valid = { gateway: {}, services: [service('api', upstream.url)] }
    file = await writeServicesFile(valid)
    const logs = captureLogs()
    const running = await start(await parseConfig(valid, { env: {}, source: file.path, baseDir: file.dir }), logs)
    await writeFile(file.path, JSON.stringify({ gateway: {}, services: [{ name: 'api', prefix: 'no-slash', upstreams: ['ftp://x'] }] }))
    const result = await running.reload()
    expect(result.outcome).toBe('refused')
    const paths = result.outcome === 'refused' ? result.problems.map((problem) => problem.path) : []
    expect(paths).toEqual(expect.arrayContaining(['services[0].prefix', 'services[0].upstreams[0]']))
    for (const path of paths) expect(logs.lines).toContainEqual(expect.objectContaining({ level: 50, path }))
    expect((await sendRequest(running.url, { path: '/api/x' })).body).toBe('api')
  })

  it('refuses a change to the listener, naming the setting, and keeps serving', async () => {
    const upstream = await namedUpstream('api')
    const running = await start({ gateway: {}, services: [service('api', upstream.url)] })
    const result = await running.reload(await configFor({ gateway: { listen: { port: 1 }, timeouts: { keepAlive: 1_000 } }, services: [service('api', upstream.url)] }))
    expect(result.outcome === 'refused' && result.problems.map((problem) => problem.path)).toEqual(['gateway.listen', 'gateway.timeouts.keepAlive'])
    expect((await sendRequest(running.url, { path: '/api/x' })).body).toBe('api')
  })

  it('keeps serving when the new configuration does not start (a service plugin that throws)', async () => {
    const upstream = await namedUpstream('api')
    file = await writeServicesFile({ gateway: {}, services: [] }, { 'broken.mjs': 'export default async function broken () { throw new Error("no database") }\n' })
    const running = await start({ gateway: {}, services: [service('api', upstream.url)] })
    const next = await parseConfig({ gateway: {}, services: [service('api', upstream.url, { plugins: ['./broken.mjs'] })] }, { env: {}, baseDir: file.dir })
    const result = await running.reload(next)
    expect(result).toEqual({ outcome: 'refused', problems: [expect.objectContaining({ path: '(gateway)', message: expect.stringContaining('no database') })] })
    expect((await sendRequest(running.url, { path: '/api/x' })).body).toBe('api')
  })
})

describe('a reload and the service plugins', () => {
  /** A plugin (not encapsulated, as fastify-plugin makes it) that labels every answer of its service. */
  const labelling = (label: string): string => `export default function label (app, _options, done) {
  app.addHook('onSend', (_request, reply, _payload, next) => { reply.header('x-label', '${label}'); next() })
  done()
}
label[Symbol.for('skip-override')] = true
`

  it('picks up a plugin file edited since the last load', async () => {
    const upstream = await namedUpstream('api')
    file = await writeServicesFile({ gateway: {}, services: [] }, { 'label.mjs': labelling('first') })
    const withPlugin = async (): Promise<GatewayConfig> =>
      parseConfig({ gateway: {}, services: [service('api', upstream.url, { plugins: ['./label.mjs'] })] }, { env: {}, baseDir: file?.dir ?? '' })
    const running = await start(await withPlugin())
    expect((await sendRequest(running.url, { path: '/api/x' })).headers['x-label']).toBe('first')
    const pluginPath = join(file.dir, 'label.mjs')
    await writeFile(pluginPath, labelling('second'))
    // The modification time is what tells an edited file apart: make sure it moved.
    const later = new Date(Date.now() + 2_000)
    await utimes(pluginPath, later, later)
    expect((await running.reload(await withPlugin())).outcome).toBe('applied')
    expect((await sendRequest(running.url, { path: '/api/x' })).headers['x-label']).toBe('second')
  })
})

describe('a reload and the rest of a gateway\'s life', () => {
  it('keeps an open WebSocket working across a reload, and says goodbye to it at shutdown', async () => {
    const echo = await startWebSocketUpstream()
    cleanups.push(() => echo.close())
    const other = await namedUpstream('other')
    const chat = service('chat', echo.url, { websocket: true })
    const running = await startGateway(await configFor({ gateway: { timeouts: { drain: 5_000 } }, services: [chat] }),
      { host: '127.0.0.1', port: 0 }, { logger: false })
    const client = new WebSocket(`${running.url.replace(/^http/, 'ws')}/chat/live`)
    cleanups.push(async () => { client.terminate() })
    await once(client, 'open')
    expect((await running.reload(await configFor({ gateway: { timeouts: { drain: 5_000 } }, services: [chat, service('other', other.url)] }))).outcome).toBe('applied')
    client.send('still there?')
    const [echoed] = await once(client, 'message') as [Buffer]
    expect(echoed.toString()).toBe('still there?')
    const closed = once(client, 'close') as Promise<[number]>
    const started = Date.now()
    await running.close()
    const [code] = await closed
    // A close frame, not a connection cut at the drain timeout (1006).
    expect(code).not.toBe(1006)
    expect(Date.now() - started).toBeLessThan(2_000)
  })

  it('refuses a reload that gets ready only after shutdown began, so nothing serves without draining', async () => {
    const upstream = await namedUpstream('api')
    file = await writeServicesFile({ gateway: {}, services: [] }, { 'slow-start.mjs': 'export default async function slowStart () { await new Promise((resolve) => setTimeout(resolve, 300)) }\n' })
    const running = await startGateway(await configFor({ gateway: {}, services: [service('api', upstream.url)] }), { host: '127.0.0.1', port: 0 }, { logger: false })
    const next = await parseConfig({ gateway: {}, services: [service('api', upstream.url, { plugins: ['./slow-start.mjs'] })] }, { env: {}, baseDir: file.dir })
    const reloading = running.reload(next)
    await new Promise((resolve) => setTimeout(resolve, 50))
    const closing = running.close()
    expect(await reloading).toEqual({ outcome: 'refused', problems: [{ path: '(gateway)', message: 'the gateway is shutting down' }] })
    await closing
  })

  it('lets the service plugins of every configuration ask their server where it listens', async () => {
    const upstream = await namedUpstream('api')
    const running = await start({ gateway: {}, services: [service('api', upstream.url)] })
    await running.reload(await configFor({ gateway: {}, services: [service('api', upstream.url)] }))
    const { port } = running.server.address() as AddressInfo
    expect((running.app.server.address() as AddressInfo).port).toBe(port)
    expect(running.app.server.listening).toBe(true)
  })
})
