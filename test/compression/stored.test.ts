import { afterEach, describe, expect, it } from 'vitest'
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import { ResponseCompressor } from '../../src/compression/compressor.js'
import type { EncodedCopyLimits } from '../../src/compression/encoded-copies.js'
import type { CompressionSettings } from '../../src/config/types.js'

const SETTINGS: CompressionSettings = { threshold: 1024, encodings: ['br', 'gzip', 'deflate'], brotliQuality: 4, gzipLevel: 6 }
const BODY = Buffer.from(JSON.stringify(Array.from({ length: 300 }, (_, id) => ({ id, name: `item-${id}` }))))
const SMALL = Buffer.from('{"ok":true}')

let app: FastifyInstance | undefined

afterEach(async () => {
  await app?.close()
  app = undefined
})

/**
 * A stand-in for the cache: `/stored/<version>` answers BODY with stored headers through sendStored, the
 * version naming the body version (the variant key).
 */
async function cacheLikeApp (compressor: ResponseCompressor, headers: Record<string, string> = {}): Promise<FastifyInstance> {
  const instance = Fastify({ logger: false })
  instance.get<{ Params: { version: string } }>('/stored/:version', (request, reply) => {
    reply.header('content-type', 'application/json').header('etag', '"v1"').header('content-length', BODY.length)
    for (const [name, value] of Object.entries(headers)) reply.header(name, value)
    compressor.sendStored(reply, BODY, `/stored\n${request.params.version}`)
  })
  instance.get('/small', (_request, reply) => {
    reply.header('content-type', 'application/json')
    compressor.sendStored(reply, SMALL, '/small')
  })
  await instance.ready()
  return instance
}

async function hit (instance: FastifyInstance, url: string, acceptEncoding?: string, method: 'GET' | 'HEAD' = 'GET'): Promise<LightMyRequestResponse> {
  return instance.inject({ method, url, headers: acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding } })
}

describe('stored bodies (cache hits)', () => {
  it('are encoded once per version and coding, then served from the copy with an exact Content-Length', async () => {
    const compressor = new ResponseCompressor(SETTINGS)
    app = await cacheLikeApp(compressor)
    const first = await hit(app, '/stored/1', 'gzip')
    const second = await hit(app, '/stored/1', 'gzip')
    expect(compressor.copies.encodings).toBe(1)
    for (const response of [first, second]) {
      expect(response.headers['content-encoding']).toBe('gzip')
      expect(response.headers['content-length']).toBe(String(response.rawPayload.length))
      expect(response.headers.etag).toBe('W/"v1"')
      expect(response.headers.vary).toBe('Accept-Encoding')
      expect(gunzipSync(response.rawPayload).equals(BODY)).toBe(true)
    }
    expect(second.rawPayload.equals(first.rawPayload)).toBe(true)
    // zlib's result is a view on a larger buffer; the copy kept owns exactly its bytes, as counted.
    const kept = compressor.copies.get('/stored\n1\ngzip')
    expect(kept?.buffer.byteLength).toBe(first.rawPayload.length)
  })

  it('concurrent first hits share one encoding', async () => {
    const compressor = new ResponseCompressor(SETTINGS)
    app = await cacheLikeApp(compressor)
    const instance = app
    const responses = await Promise.all(Array.from({ length: 8 }, async () => hit(instance, '/stored/1', 'br')))
    expect(compressor.copies.encodings).toBe(1)
    for (const response of responses) {
      expect(response.headers['content-encoding']).toBe('br')
      expect(brotliDecompressSync(response.rawPayload).equals(BODY)).toBe(true)
    }
  })

  it('each coding and each version is its own copy', async () => {
    const compressor = new ResponseCompressor(SETTINGS)
    app = await cacheLikeApp(compressor)
    await hit(app, '/stored/1', 'gzip')
    await hit(app, '/stored/1', 'br')
    await hit(app, '/stored/2', 'gzip')
    await hit(app, '/stored/2', 'gzip')
    expect(compressor.copies.encodings).toBe(3)
    expect(compressor.copies.entries).toBe(3)
  })

  it.each<[string, string, string | undefined, 'GET' | 'HEAD']>([
    ['a client without Accept-Encoding', '/stored/1', undefined, 'GET'],
    ['a client that takes identity only', '/stored/1', 'identity', 'GET'],
    ['a HEAD', '/stored/1', 'gzip', 'HEAD']
  ])('%s gets the stored headers and identity, with Vary, and nothing is encoded', async (_who, url, acceptEncoding, method) => {
    const compressor = new ResponseCompressor(SETTINGS)
    app = await cacheLikeApp(compressor)
    const response = await hit(app, url, acceptEncoding, method)
    expect(response.headers['content-encoding']).toBeUndefined()
    expect(response.headers['content-length']).toBe(String(BODY.length))
    expect(response.headers.etag).toBe('"v1"')
    expect(response.headers.vary).toBe('Accept-Encoding')
    expect(response.rawPayload.equals(method === 'HEAD' ? Buffer.alloc(0) : BODY)).toBe(true)
    expect(compressor.copies.encodings).toBe(0)
  })

  it('a body below the threshold is sent as is, without Vary', async () => {
    const compressor = new ResponseCompressor(SETTINGS)
    app = await cacheLikeApp(compressor)
    const response = await hit(app, '/small', 'gzip')
    expect(response.headers['content-encoding']).toBeUndefined()
    expect(response.headers['content-length']).toBe(String(SMALL.length))
    expect(response.headers.vary).toBeUndefined()
    expect(response.rawPayload.equals(SMALL)).toBe(true)
  })

  it('stored headers that forbid transformation are honoured', async () => {
    const compressor = new ResponseCompressor(SETTINGS)
    app = await cacheLikeApp(compressor, { 'cache-control': 'max-age=60, no-transform' })
    const response = await hit(app, '/stored/1', 'gzip')
    expect(response.headers['content-encoding']).toBeUndefined()
    expect(response.rawPayload.equals(BODY)).toBe(true)
    expect(compressor.copies.encodings).toBe(0)
  })
})

describe('the encoded copies are bounded', () => {
  async function fill (limits: EncodedCopyLimits, versions: number): Promise<{ compressor: ResponseCompressor, sizes: number[] }> {
    const compressor = new ResponseCompressor(SETTINGS, limits)
    app = await cacheLikeApp(compressor)
    const sizes: number[] = []
    for (let version = 1; version <= versions; version++) sizes.push((await hit(app, `/stored/${version}`, 'gzip')).rawPayload.length)
    return { compressor, sizes }
  }

  it('by entries, least recently used out first', async () => {
    const { compressor } = await fill({ maxEntries: 2, maxBytes: 1024 * 1024 }, 2)
    const instance = app as FastifyInstance
    await hit(instance, '/stored/1', 'gzip') // 1 is now the most recently used
    await hit(instance, '/stored/3', 'gzip') // evicts 2
    expect(compressor.copies.entries).toBe(2)
    expect(compressor.copies.encodings).toBe(3)
    await hit(instance, '/stored/1', 'gzip')
    expect(compressor.copies.encodings).toBe(3)
    await hit(instance, '/stored/2', 'gzip')
    expect(compressor.copies.encodings).toBe(4)
  })

  it('by bytes, counting each copy and its key', async () => {
    const probe = await fill({ maxEntries: 100, maxBytes: 1024 * 1024 }, 1)
    const entryBytes = probe.compressor.copies.bytes
    await app?.close()
    const { compressor } = await fill({ maxEntries: 100, maxBytes: entryBytes * 2 + 1 }, 3)
    expect(compressor.copies.entries).toBe(2)
    expect(compressor.copies.bytes).toBe(entryBytes * 2)
  })

  it('a copy larger than the whole bound is served but not kept', async () => {
    const { compressor, sizes } = await fill({ maxEntries: 100, maxBytes: 16 }, 1)
    expect(sizes[0]).toBeGreaterThan(16)
    expect(compressor.copies.entries).toBe(0)
    expect(compressor.copies.bytes).toBe(0)
  })
})
