import { readFile } from 'node:fs/promises'
import { Ajv } from 'ajv'
import { describe, expect, it } from 'vitest'
import { editorSchemaText } from '../../src/config/editor-schema.js'
import { withReference } from '../../src/config/reference.js'
import { loadConfig } from '../../src/config/load.js'

const root = new URL('../../', import.meta.url)

describe('the editor schema', () => {
  it('is committed exactly as the schema generates it (run `npm run schema` after changing it)', async () => {
    const committed = await readFile(new URL('services.schema.json', root), 'utf8')
    expect(committed).toBe(editorSchemaText())
  })

  it('is referenced by the committed services.json and accepts it, placeholders included', async () => {
    const servicesJson = JSON.parse(await readFile(new URL('services.json', root), 'utf8'))
    expect(servicesJson.$schema).toBe('./services.schema.json')
    const ajv = new Ajv({ allErrors: true, strict: false })
    const validate = ajv.compile(JSON.parse(editorSchemaText()))
    expect(validate(servicesJson), JSON.stringify(validate.errors)).toBe(true)
  })

  it('rejects what the runtime validator rejects, such as an unknown key', () => {
    const ajv = new Ajv({ allErrors: true, strict: false })
    const validate = ajv.compile(JSON.parse(editorSchemaText()))
    expect(validate({ services: [{ name: 'users', prefix: '/users', upstream: [] }] })).toBe(false)
  })
})

describe('the committed services.json', () => {
  const secret = { GATEHOUSE_JWT_SECRET: 'x'.repeat(32) }

  it('refuses to load without a token secret, naming the variable to set', async () => {
    const error = await loadConfig(new URL('services.json', root).pathname, {}).catch((caught: unknown) => caught)
    expect(error).toMatchObject({ problems: [{ path: 'gateway.auth.secrets[0].secret', message: 'environment variable GATEHOUSE_JWT_SECRET is not set' }] })
  })

  it('loads with its defaults when only the token secret is set', async () => {
    const config = await loadConfig(new URL('services.json', root).pathname, secret)
    expect(config.services.map((service) => [service.name, service.prefix, service.upstreams.length, service.auth?.mode])).toEqual([
      ['users', '/users', 1, 'required'], ['orders', '/orders', 2, 'required'], ['cart', '/cart', 1, 'required']
    ])
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 8080 })
    expect(config.rateLimit.store).toBe('memory')
  })

  it('takes upstream addresses from the environment, as docker-compose sets them', async () => {
    const config = await loadConfig(new URL('services.json', root).pathname, { ...secret, USERS_URL: 'http://users:3001', GATEHOUSE_PORT: '9000', GATEHOUSE_RATE_LIMIT_STORE: 'redis' })
    expect(config.rateLimit.store).toBe('redis')
    expect(config.services[0]?.upstreams[0]?.url).toBe('http://users:3001')
    expect(config.listen.port).toBe(9000)
  })
})

describe('the README reference', () => {
  it('is the table the schema generates (run `npm run schema` after changing it)', async () => {
    const readme = await readFile(new URL('README.md', root), 'utf8')
    expect(readme).toBe(withReference(readme))
    expect(readme).toContain('| `services[].prefix` |')
  })
})
