/**
 * What makes a running `gatehouse start` reload services.json (issue 6), as a real process: SIGHUP, and
 * with --watch a change to the file (written in place, or replaced the way editors and Kubernetes do).
 * The CLI runs dist/: build first.
 */
import { rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { sendRequest } from '../helpers/client.js'
import { spawnGatehouse, type GatehouseProcess } from '../helpers/process.js'
import { writeServicesFile, type TempServicesFile } from '../helpers/services-file.js'
import { startUpstream, type TestUpstream } from '../helpers/upstream.js'

type LogLine = Record<string, unknown>
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function namedUpstream (name: string): Promise<TestUpstream> {
  const upstream = await startUpstream((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(name) })
    response.end(name)
  })
  cleanups.push(() => upstream.close())
  return upstream
}

function servicesPointingAt (upstream: TestUpstream): unknown {
  return { gateway: { logLevel: 'info' }, services: [{ name: 'api', prefix: '/api', upstreams: [upstream.url] }] }
}

async function started (file: TempServicesFile, extra: string[] = []): Promise<{ gatehouse: GatehouseProcess, url: string }> {
  const gatehouse = spawnGatehouse(['start', '--config', file.path, '--host', '127.0.0.1', '--port', '0', ...extra])
  cleanups.push(async () => {
    if (gatehouse.child.exitCode === null && gatehouse.child.signalCode === null) {
      gatehouse.child.kill('SIGTERM')
      await gatehouse.exited
    }
  })
  const line = await gatehouse.waitForLog((log) => typeof log.url === 'string' && log.services !== undefined)
  // Signals and file changes before this line would be missed (or, for SIGHUP, end the process).
  await gatehouse.waitForLog((log) => typeof log.msg === 'string' && log.msg.startsWith('reloads services.json on SIGHUP'))
  return { gatehouse, url: String(line.url) }
}

/** Resolves with the `count`-th "configuration reloaded" line. */
async function reloaded (gatehouse: GatehouseProcess, count: number): Promise<LogLine> {
  for (;;) {
    const lines = gatehouse.logs.filter((line) => line.msg === 'configuration reloaded')
    if (lines.length >= count) return lines[count - 1] as LogLine
    await gatehouse.waitForLog((line) => line.msg === 'configuration reloaded' && !lines.includes(line))
  }
}

describe('gatehouse start reloads services.json', () => {
  let file: TempServicesFile | undefined
  afterEach(async () => { await file?.remove() })

  it('on SIGHUP, and keeps serving the old configuration when the new file is invalid', async () => {
    const before = await namedUpstream('before')
    const after = await namedUpstream('after')
    file = await writeServicesFile(servicesPointingAt(before))
    const { gatehouse, url } = await started(file)
    expect((await sendRequest(url, { path: '/api/x' })).body).toBe('before')

    await writeFile(file.path, JSON.stringify(servicesPointingAt(after)))
    gatehouse.child.kill('SIGHUP')
    expect(await reloaded(gatehouse, 1)).toMatchObject({ trigger: 'SIGHUP', services: { changed: ['api'] } })
    expect((await sendRequest(url, { path: '/api/x' })).body).toBe('after')

    await writeFile(file.path, '{ "services": [ { "name": "api" } ] }')
    gatehouse.child.kill('SIGHUP')
    const refused = await gatehouse.waitForLog((line) => line.msg === 'reload refused: the running configuration keeps serving')
    expect(refused).toMatchObject({ trigger: 'SIGHUP', problems: 2 })
    for (const path of ['services[0].prefix', 'services[0].upstreams']) {
      expect(gatehouse.logs).toContainEqual(expect.objectContaining({ level: 50, path, trigger: 'SIGHUP', msg: `reload refused: ${path}: is required` }))
    }
    expect((await sendRequest(url, { path: '/api/x' })).body).toBe('after')
    expect(gatehouse.child.exitCode).toBeNull()
  }, 20_000)

  it('with --watch, when the file is written in place or replaced by a rename', async () => {
    const first = await namedUpstream('first')
    const second = await namedUpstream('second')
    const third = await namedUpstream('third')
    file = await writeServicesFile(servicesPointingAt(first))
    const { gatehouse, url } = await started(file, ['--watch'])

    await writeFile(file.path, JSON.stringify(servicesPointingAt(second)))
    expect(await reloaded(gatehouse, 1)).toMatchObject({ trigger: 'file change' })
    expect((await sendRequest(url, { path: '/api/x' })).body).toBe('second')

    const replacement = join(file.dir, 'services.json.tmp')
    await writeFile(replacement, JSON.stringify(servicesPointingAt(third)))
    await rename(replacement, file.path)
    expect(await reloaded(gatehouse, 2)).toMatchObject({ trigger: 'file change' })
    expect((await sendRequest(url, { path: '/api/x' })).body).toBe('third')
  }, 20_000)
})
