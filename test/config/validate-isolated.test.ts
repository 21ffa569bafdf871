/**
 * The compiled loader (dist/, what `gatehouse start` runs) validates services.json in a worker thread
 * (src/config/validate-isolated.ts); this drives that path, which the TypeScript sources skip.
 */
import { existsSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

const compiled = new URL('../../dist/src/config/load.js', import.meta.url)

describe('validation in a worker thread (compiled code)', () => {
  it('is what the build runs, and gives the same config and the same problems as in-process validation', async () => {
    expect(existsSync(compiled), 'npm test builds dist/ first (pretest)').toBe(true)
    const { parseConfig } = await import(compiled.href) as typeof import('../../src/config/load.js')
    const config = await parseConfig({ gateway: { listen: { port: '${PORT:-9090}' } }, services: [{ name: 'users', prefix: '/users', upstreams: ['http://127.0.0.1:3001'], retries: true }] }, { env: {} })
    expect(config.listen.port).toBe(9090)
    expect(config.services[0]?.retryAttempts).toBe(2)
    const refused = await parseConfig({ services: [{ name: 'Users', prefix: 'users', upstream: [] }] }, { env: {} }).catch((error: unknown) => error)
    expect(refused).toMatchObject({ code: 'GATEHOUSE_CONFIG_INVALID' })
    const { parseConfig: parseInProcess } = await import('../../src/config/load.js')
    const inProcess = await parseInProcess({ services: [{ name: 'Users', prefix: 'users', upstream: [] }] }, { env: {} }).catch((error: unknown) => error)
    expect((refused as { problems: unknown[] }).problems).toEqual((inProcess as { problems: unknown[] }).problems)
    expect((refused as { problems: Array<{ path: string }> }).problems.map((problem) => problem.path).sort()).toEqual([
      'services[0].name', 'services[0].prefix', 'services[0].upstream', 'services[0].upstreams'
    ])
  })
})
