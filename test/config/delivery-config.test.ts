/** services.json's cache and compression settings (issue 4): defaults, and refusals at their JSON paths. */
import zlib from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/load.js'
import type { ConfigProblem } from '../../src/config/problems.js'
import { ConfigInvalidError } from '../../src/errors.js'

const service = { name: 'users', prefix: '/users', upstreams: ['http://127.0.0.1:3001'] }

async function problemsOf (raw: unknown): Promise<ConfigProblem[]> {
  const error = await parseConfig(raw, { env: {} }).then(() => undefined, (caught: unknown) => caught)
  expect(error).toBeInstanceOf(ConfigInvalidError)
  return [...(error as ConfigInvalidError).problems]
}

describe('cache and compression settings', () => {
  it('default to a 64 MiB memory store, 1 MiB objects, no purge endpoint, compression on at 1 KB, cache off', async () => {
    const config = await parseConfig({ services: [service] }, { env: {} })
    expect(config.cache).toEqual({ store: 'memory', maxBytes: 64 * 1024 * 1024, maxObjectBytes: 1024 * 1024, collapseTimeout: 10_000, purgeToken: null })
    expect(config.compression).toEqual({ threshold: 1024, encodings: ['br', 'gzip', 'deflate'], brotliQuality: 4, gzipLevel: 6 })
    expect(config.services[0]?.cache).toBeNull()
    expect(config.services[0]?.compression).toBe(true)
  })

  it('resolves a service\'s cache: true and its options', async () => {
    const config = await parseConfig({ services: [{ ...service, cache: true, compression: false }] }, { env: {} })
    expect(config.services[0]?.cache).toEqual({ partitionBySubject: false })
    expect(config.services[0]?.compression).toBe(false)
  })

  it('refuses every mistake at once, each at its path', async () => {
    const problems = await problemsOf({
      gateway: { cache: { store: 'disk', maxObjectBytes: 0, purgeToken: 'short' }, compression: { encodings: ['gzip', 'gzip'], brotliQuality: 12 } },
      services: [{ ...service, cache: 'yes' }]
    })
    const paths = problems.map((problem) => problem.path)
    expect(paths).toEqual(expect.arrayContaining([
      'gateway.cache.store', 'gateway.cache.maxObjectBytes', 'gateway.cache.purgeToken',
      'gateway.compression.encodings', 'gateway.compression.brotliQuality', 'services[0].cache'
    ]))
  })

  it('refuses the redis store without gateway.redis', async () => {
    expect(await problemsOf({ gateway: { cache: { store: 'redis' } }, services: [service] })).toEqual([{
      path: 'gateway.cache.store', message: '"redis" needs gateway.redis', hint: 'add gateway.redis { "url": "${REDIS_URL}" } or use "memory"'
    }])
  })

  it.skipIf(typeof (zlib as { createZstdCompress?: unknown }).createZstdCompress === 'function')('refuses zstd on a Node.js without it, naming the entry', async () => {
    const problems = await problemsOf({ gateway: { compression: { encodings: ['gzip', 'zstd'] } }, services: [service] })
    expect(problems).toEqual([expect.objectContaining({ path: 'gateway.compression.encodings[1]', message: expect.stringMatching(/has no zstd/) })])
  })
})
