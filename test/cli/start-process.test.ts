import { afterEach, describe, expect, it } from 'vitest'
import { spawnGatehouse, type GatehouseProcess } from '../helpers/process.js'
import { writeServicesFile, type TempServicesFile } from '../helpers/services-file.js'
import { startUpstream, type TestUpstream } from '../helpers/upstream.js'

describe('gatehouse start (the real process)', () => {
  let upstream: TestUpstream
  let file: TempServicesFile
  let gatehouse: GatehouseProcess | undefined

  afterEach(async () => {
    gatehouse?.child.kill('SIGKILL')
    await upstream?.close()
    await file?.remove()
  })

  it('logs where it listens and the routing table, proxies, and on SIGTERM finishes in-flight requests and exits 0', async () => {
    let release: (() => void) | undefined
    let slowArrived: () => void = () => {}
    const requestArrived = new Promise<void>((resolve) => { slowArrived = resolve })
    upstream = await startUpstream((request, response) => {
      if (request.url !== '/slow') {
        response.end('fast')
        return
      }
      release = () => response.end('finished')
      slowArrived()
    })
    file = await writeServicesFile({ gateway: { logLevel: 'info' }, services: [{ name: 'users', prefix: '/users', upstreams: [upstream.url] }] })
    gatehouse = spawnGatehouse(['start', '--config', file.path, '--host', '127.0.0.1', '--port', '0'])
    const table = await gatehouse.waitForLog((line) => typeof line.msg === 'string' && line.msg.startsWith('routing table'))
    expect(table.msg).toContain(`/users       → users: ${upstream.url}`)
    const url = table.url as string

    expect(await (await fetch(`${url}/users/fast`)).text()).toBe('fast')
    const slow = fetch(`${url}/users/slow`).then((response) => response.text())
    await requestArrived
    gatehouse.child.kill('SIGTERM')
    await gatehouse.waitForLog((line) => typeof line.msg === 'string' && line.msg.startsWith('draining'))
    release?.()
    expect(await slow).toBe('finished')
    expect(await gatehouse.exited).toBe(0)
    const access = gatehouse.logs.filter((line) => line.msg === 'request')
    expect(access.map((line) => [line.path, line.status, line.service])).toEqual([['/users/fast', 200, 'users'], ['/users/slow', 200, 'users']])
  })

  it('refuses an invalid config with exit 2 and every problem on stderr', async () => {
    upstream = await startUpstream()
    file = await writeServicesFile({ services: [{ name: 'users', prefix: '/users', upstreams: ['${MISSING_URL}'] }] })
    gatehouse = spawnGatehouse(['start', '--config', file.path])
    let stderr = ''
    gatehouse.child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
    expect(await gatehouse.exited).toBe(2)
    expect(stderr).toContain('services[0].upstreams[0]: environment variable MISSING_URL is not set')
  })
})
