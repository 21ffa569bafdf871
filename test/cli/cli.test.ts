import { afterEach, describe, expect, it } from 'vitest'
import { availableParallelism } from 'node:os'
import { EXIT_OK, EXIT_USAGE, main, type CliIO } from '../../src/cli.js'
import { parseWorkerCount } from '../../src/cluster/worker-count.js'
import { writeServicesFile, type TempServicesFile } from '../helpers/services-file.js'

function capture (): CliIO & { stdout: string[], stderr: string[] } {
  const stdout: string[] = []
  const stderr: string[] = []
  return { stdout, stderr, out: (text) => stdout.push(text), err: (text) => stderr.push(text) }
}

describe('gatehouse check', () => {
  let file: TempServicesFile | undefined

  afterEach(async () => { await file?.remove() })

  it('prints the routing table and exits 0 for a valid file', async () => {
    file = await writeServicesFile({
      services: [
        { name: 'users', prefix: '/users', upstreams: ['http://127.0.0.1:3001'] },
        { name: 'orders', prefix: '/orders', upstreams: ['http://127.0.0.1:3002', { url: 'http://127.0.0.1:3003', weight: 2 }], retries: true }
      ]
    })
    const io = capture()
    expect(await main(['check', file.path], io)).toBe(EXIT_OK)
    const output = io.stdout.join('\n')
    expect(output).toContain('is valid')
    expect(output).toMatch(/\/orders\s+→ orders: http:\/\/127\.0\.0\.1:3002, http:\/\/127\.0\.0\.1:3003 \(weight 2\) \[retries 2\]/)
    expect(output).toMatch(/\/users\s+→ users: http:\/\/127\.0\.0\.1:3001/)
    expect(output).toMatch(/\/_gatehouse\s+→ gateway: healthz, readyz/)
  })

  it('lists every problem with its path and exits 2 for an invalid file', async () => {
    file = await writeServicesFile({ services: [{ name: 'users', prefix: 'users', upstreams: ['nope'], extra: 1 }] })
    const io = capture()
    expect(await main(['check', '--config', file.path], io)).toBe(EXIT_USAGE)
    const output = io.stderr.join('\n')
    expect(output).toContain('services[0].prefix')
    expect(output).toContain('services[0].upstreams[0]')
    expect(output).toContain('services[0].extra: unknown key "extra"')
    expect(output).not.toMatch(/\n\s+at /)
  })

  it('loads the services\' own plugins too, and exits 2 when one exports no plugin', async () => {
    file = await writeServicesFile({
      services: [{ name: 'users', prefix: '/users', upstreams: ['http://127.0.0.1:3001'], plugins: ['./broken.js'] }]
    }, { 'broken.js': 'export const notAPlugin = 1\n' })
    const io = capture()
    expect(await main(['check', file.path], io)).toBe(EXIT_USAGE)
    expect(io.stderr.join('\n')).toMatch(/cannot be built from it: Plugin .*broken\.js of service "users" must export a Fastify plugin/)
  })

  it('exits 2 for a file that does not exist', async () => {
    const io = capture()
    expect(await main(['check', '/nonexistent/services.json'], io)).toBe(EXIT_USAGE)
    expect(io.stderr.join('\n')).toContain('the file does not exist')
  })
})

describe('gatehouse usage', () => {
  it('prints help and exits 0', async () => {
    const io = capture()
    expect(await main(['--help'], io)).toBe(EXIT_OK)
    expect(io.stdout.join('\n')).toMatch(/^Usage: gatehouse <command>/)
  })

  it('prints the package version', async () => {
    const io = capture()
    expect(await main(['--version'], io)).toBe(EXIT_OK)
    expect(io.stdout).toEqual([expect.stringMatching(/^\d+\.\d+\.\d+/)])
  })

  it.each([
    [['start', '--bogus']],
    [['frobnicate']],
    [[]],
    [['check', 'a.json', 'b.json']],
    [['start', '--port', 'eighty']],
    [['start', '--workers']]
  ])('refuses %j with usage and exit 2', async (argv) => {
    const io = capture()
    expect(await main(argv, io)).toBe(EXIT_USAGE)
    expect(io.stderr.join('\n')).toMatch(/^gatehouse: /)
  })

  it('documents --workers in the help', async () => {
    const io = capture()
    expect(await main(['--help'], io)).toBe(EXIT_OK)
    expect(io.stdout.join('\n')).toMatch(/--workers N\s+run N gateway processes sharing the port/)
  })

  it.each(['0', '257', '1.5', '2x', 'many', '', ' 2', '-1'])('refuses --workers %j before reading any config, saying what it takes', async (value) => {
    const io = capture()
    expect(await main(['start', `--workers=${value}`, '--config', '/nonexistent/services.json'], io)).toBe(EXIT_USAGE)
    expect(io.stderr.join('\n')).toMatch(new RegExp(`^gatehouse: --workers must be "auto" or a whole number from 1 to 256, not "${value.replace(/[.]/g, '\\.')}"`))
  })
})

describe('start --workers', () => {
  it.each([
    [undefined, 1],
    ['1', 1],
    ['4', 4],
    ['256', 256],
    ['auto', availableParallelism()]
  ])('reads %j as %i worker(s)', (value, workers) => {
    expect(parseWorkerCount(value)).toEqual({ workers })
  })
})

describe('gatehouse token', () => {
  let file: TempServicesFile | undefined

  afterEach(async () => { await file?.remove() })

  it('mints a token the gateway built from the same file accepts, with the scopes asked for', async () => {
    const { buildGateway } = await import('../../src/gateway.js')
    const { loadConfig } = await import('../../src/config/load.js')
    const { startUpstream } = await import('../helpers/upstream.js')
    const upstream = await startUpstream()
    file = await writeServicesFile({
      gateway: { auth: { secrets: [{ secret: 'a-development-secret-of-32-bytes-or-more' }], issuers: ['gatehouse-dev'] } },
      services: [{ name: 'orders', prefix: '/orders', upstreams: [upstream.url], auth: { scopes: ['orders:read'] } }]
    })
    const io = capture()
    expect(await main(['token', '--config', file.path, '--sub', 'alice', '--scope', 'orders:read orders:write', '--ttl', '15m'], io)).toBe(EXIT_OK)
    const token = io.stdout.join('').trim()
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>
    expect(claims).toMatchObject({ sub: 'alice', scope: 'orders:read orders:write', iss: 'gatehouse-dev' })
    expect(Number(claims.exp) - Number(claims.iat)).toBe(900)
    const app = buildGateway(await loadConfig(file.path), { logger: false })
    try {
      const response = await app.inject({ url: '/orders/1', headers: { authorization: `Bearer ${token}` } })
      expect(response.statusCode).toBe(200)
      expect(upstream.requests[0]?.headers['x-user-id']).toBe('alice')
    } finally {
      await app.close()
      await upstream.close()
    }
  })

  it.each([
    [['token', '--ttl', '1h'], 'needs --sub'],
    [['token', '--sub', 'alice', '--ttl', 'forever'], '--ttl must look like'],
    [['token', '--sub', 'alice'], 'no HMAC secret']
  ])('refuses %j with exit 2', async (args, message) => {
    file = await writeServicesFile({ services: [] })
    const io = capture()
    expect(await main([...args, '--config', file.path], io)).toBe(EXIT_USAGE)
    expect(io.stderr.join('\n')).toContain(message)
  })
})
