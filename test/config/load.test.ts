import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { loadConfig, parseConfig } from '../../src/config/load.js'
import type { ConfigProblem } from '../../src/config/problems.js'
import { ConfigInvalidError } from '../../src/errors.js'

async function problemsOf (raw: unknown, env: Record<string, string> = {}): Promise<ConfigProblem[]> {
  try {
    await parseConfig(raw, { env })
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigInvalidError)
    expect((error as ConfigInvalidError).code).toBe('GATEHOUSE_CONFIG_INVALID')
    return [...(error as ConfigInvalidError).problems]
  }
  throw new Error('expected the config to be refused')
}

const smallest = { services: [{ name: 'users', prefix: '/users', upstreams: ['http://127.0.0.1:3001'] }] }

describe('a valid services.json', () => {
  it('accepts the smallest file and fills in every default', async () => {
    const config = await parseConfig(smallest, { env: {} })
    expect(config.services[0]).toMatchObject({
      name: 'users',
      prefix: '/users',
      rewritePrefix: '/',
      upstreams: [{ url: 'http://127.0.0.1:3001', weight: 1 }],
      websocket: false,
      retryAttempts: 0,
      tls: { verify: true },
      bodyLimit: 10 * 1024 * 1024,
      timeouts: { connect: 5000, responseHeaders: 30000, idle: 60000 }
    })
    expect(config.adminPrefix).toBe('/_gatehouse')
  })

  it('is frozen all the way down', async () => {
    const config = await parseConfig(smallest, { env: {} })
    expect(Object.isFrozen(config)).toBe(true)
    expect(Object.isFrozen(config.services[0]?.upstreams[0])).toBe(true)
  })

  it('accepts true/false or an object for a policy, and an upstream object with a weight', async () => {
    const config = await parseConfig({
      gateway: { timeouts: { upstream: { connect: 100 } } },
      services: [
        { name: 'a', prefix: '/a', upstreams: [{ url: 'http://127.0.0.1:1', weight: 3 }], retries: true, loadBalancing: true },
        { name: 'b', prefix: '/b', upstreams: [], retries: { attempts: 4 }, loadBalancing: { strategy: 'round-robin' }, timeouts: { idle: 7 } }
      ]
    }, { env: {} })
    expect(config.services[0]?.retryAttempts).toBe(2)
    expect(config.services[0]?.upstreams[0]?.weight).toBe(3)
    expect(config.services[0]?.timeouts.connect).toBe(100)
    expect(config.services[1]?.retryAttempts).toBe(4)
    expect(config.services[0]?.loadBalancing).toEqual({ strategy: 'round-robin', hashOn: null, slowStart: 0 })
    expect(config.services[1]?.timeouts).toEqual({ connect: 100, responseHeaders: 30000, idle: 7 })
  })
})

describe('environment placeholders', () => {
  it('substitutes ${VAR} and ${VAR:-default}, defaults applying to unset or empty variables', async () => {
    const config = await parseConfig({
      gateway: { listen: { port: '${PORT:-8081}', host: '${HOST:-0.0.0.0}' } },
      services: [{ name: 'users', prefix: '/users', upstreams: ['${USERS_URL}', 'http://${ORDERS_HOST:-orders}:3000'] }]
    }, { env: { USERS_URL: 'http://users:3001', HOST: '' } })
    expect(config.listen).toEqual({ host: '0.0.0.0', port: 8081 })
    expect(config.services[0]?.upstreams.map((upstream) => upstream.url)).toEqual(['http://users:3001', 'http://orders:3000'])
  })

  it('reports an unset variable without a default once, at its path', async () => {
    const problems = await problemsOf({ services: [{ name: 'users', prefix: '/users', upstreams: ['${USERS_URL}'] }] })
    expect(problems).toEqual([{
      path: 'services[0].upstreams[0]',
      message: 'environment variable USERS_URL is not set',
      hint: 'set USERS_URL, or give a default with ${USERS_URL:-value}'
    }])
  })

  it('never lets a substituted value break out of its string', async () => {
    const config = await parseConfig({ services: [{ name: 'users', prefix: '/users', upstreams: [], plugins: [] }], gateway: { adminPrefix: '${ADMIN:-/_gatehouse}' } },
      { env: { ADMIN: '/_gh", "x": "y' } }).catch((error: ConfigInvalidError) => error)
    expect(config).toBeInstanceOf(ConfigInvalidError)
    expect((config as ConfigInvalidError).problems.map((problem) => problem.path)).toEqual(['gateway.adminPrefix'])
  })
})

describe('an invalid services.json', () => {
  it('reports every problem at once, each with its JSON path', async () => {
    const problems = await problemsOf({
      gateway: { listen: { port: 70000 }, logLevel: 'loud' },
      services: [
        { name: 'users', prefix: '/users', upstream: ['http://127.0.0.1:3001'] },
        { name: 'Orders', prefix: 'orders', upstreams: ['ftp://x', { url: 'http://127.0.0.1:2', wieght: 2 }], websocket: 'yes' }
      ]
    })
    expect(problems.map((problem) => problem.path)).toEqual([
      'gateway.listen.port',
      'gateway.logLevel',
      'services[0].upstreams',
      'services[0].upstream',
      'services[1].name',
      'services[1].prefix',
      'services[1].upstreams[0]',
      'services[1].upstreams[1].wieght',
      'services[1].websocket'
    ])
  })

  it('never turns a boolean or null into a number (Ajv coercion would make false a limit of 0)', async () => {
    const problems = await problemsOf({
      services: [{ name: 'users', prefix: '/users', upstreams: [], bodyLimit: false, retries: { attempts: null }, timeouts: { idle: true } }]
    })
    expect(problems.map((problem) => [problem.path, problem.message]).sort()).toEqual([
      ['services[0].bodyLimit', 'must be integer'],
      ['services[0].retries.attempts', 'must be integer'],
      ['services[0].timeouts.idle', 'must be integer']
    ])
  })

  it('suggests the nearest valid key for a typo', async () => {
    const problems = await problemsOf({ services: [{ name: 'users', prefix: '/users', upstreams: [], rewritPrefix: '/v1' }] })
    expect(problems).toEqual([{ path: 'services[0].rewritPrefix', message: 'unknown key "rewritPrefix"', hint: 'did you mean "rewritePrefix"?' }])
  })

  it('lists the valid keys when nothing is near', async () => {
    const [problem] = await problemsOf({ gateway: { zzzzzzzz: 1 }, services: [] })
    expect(problem?.hint).toMatch(/^valid keys: listen, trustedProxies/)
  })

  it('says what a union accepts when the value has neither shape', async () => {
    const problems = await problemsOf({ services: [{ name: 'users', prefix: '/users', upstreams: [], retries: 3 }] })
    expect(problems).toEqual([{ path: 'services[0].retries', message: 'must be a boolean or an object' }])
  })

  it('names both entries of a duplicate service name or prefix', async () => {
    const problems = await problemsOf({
      services: [
        { name: 'users', prefix: '/users', upstreams: [] },
        { name: 'users', prefix: '/people', upstreams: [] },
        { name: 'people', prefix: '/users', upstreams: [] }
      ]
    })
    expect(problems).toEqual([
      { path: 'services[1].name', message: 'service name "users" is already used by services[0]', hint: 'give one of them a different name' },
      { path: 'services[2].prefix', message: 'prefix "/users" is already routed to services[0] ("users")', hint: 'set a different prefix on one of them' }
    ])
  })

  it('refuses a service prefix that collides with the admin prefix', async () => {
    const problems = await problemsOf({
      gateway: { adminPrefix: '/ops' },
      services: [{ name: 'ops', prefix: '/ops/tools', upstreams: [] }, { name: 'root', prefix: '/', upstreams: [] }]
    })
    expect(problems).toMatchObject([{ path: 'services[0].prefix', message: 'prefix "/ops/tools" collides with the gateway\'s admin prefix "/ops"' }])
  })

  it('refuses an upstream with a path, pointing at rewritePrefix', async () => {
    const [problem] = await problemsOf({ services: [{ name: 'users', prefix: '/users', upstreams: ['http://127.0.0.1:3001/api'] }] })
    expect(problem).toMatchObject({ path: 'services[0].upstreams[0]', hint: expect.stringContaining('rewritePrefix') })
  })

  it('refuses an upstream URL of the right shape that no URL parser accepts, instead of crashing', async () => {
    const problems = await problemsOf({
      services: [{ name: 'users', prefix: '/users', upstreams: ['http://127.0.0.1:99999', { url: 'http://[::1' }] }]
    })
    expect(problems.map((problem) => problem.path)).toEqual(['services[0].upstreams[0]', 'services[0].upstreams[1].url'])
  })

  it('refuses a request-head timeout Node would refuse at start-up', async () => {
    const problems = await problemsOf({ gateway: { timeouts: { requestHeaders: 300_001 } }, services: [] })
    expect(problems).toMatchObject([{ path: 'gateway.timeouts.requestHeaders', message: 'must be <= 300000' }])
  })

  it('refuses a trusted proxy that is not an address or CIDR', async () => {
    const problems = await problemsOf({ gateway: { trustedProxies: ['10.0.0.0/8', 'not-an-ip'] }, services: [] })
    expect(problems).toMatchObject([{ path: 'gateway.trustedProxies[1]' }])
  })
})

describe('loading a file', () => {
  let dir: string

  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'gatehouse-config-')) })
  afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

  it('reports a missing file without a stack trace', async () => {
    const error = await loadConfig(join(dir, 'nope.json'), {}).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(ConfigInvalidError)
    expect((error as Error).message).toContain('the file does not exist')
    expect((error as Error).message).not.toContain('    at ')
  })

  it('reports invalid JSON with the parser\'s reason', async () => {
    await writeFile(join(dir, 'services.json'), '{ "services": [ }')
    const error = await loadConfig(join(dir, 'services.json'), {}).catch((caught: unknown) => caught) as ConfigInvalidError
    expect(error.problems[0]?.message).toMatch(/^not valid JSON: Unexpected token/)
  })

  it('resolves plugin and CA paths relative to the file and reports missing ones', async () => {
    await writeFile(join(dir, 'plugin.js'), 'export default async function plugin () {}\n')
    await writeFile(join(dir, 'services.json'), JSON.stringify({
      services: [{ name: 'users', prefix: '/users', upstreams: [], plugins: ['./plugin.js', './missing.js'], tls: { ca: 'ca.pem' } }]
    }))
    const error = await loadConfig(join(dir, 'services.json'), {}).catch((caught: unknown) => caught) as ConfigInvalidError
    expect(error.problems.map((problem) => problem.path)).toEqual(['services[0].tls.ca', 'services[0].plugins[1]'])
    await writeFile(join(dir, 'ca.pem'), 'PEM')
    await writeFile(join(dir, 'services.json'), JSON.stringify({
      services: [{ name: 'users', prefix: '/users', upstreams: [], plugins: ['./plugin.js'], tls: { ca: 'ca.pem' } }]
    }))
    const config = await loadConfig(join(dir, 'services.json'), {})
    expect(config.services[0]?.plugins).toEqual([join(dir, 'plugin.js')])
    expect(config.services[0]?.tls.ca).toBe('PEM')
    expect(config.source).toBe(join(dir, 'services.json'))
  })
})
