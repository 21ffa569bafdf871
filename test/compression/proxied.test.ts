import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type { OutgoingHttpHeaders } from 'node:http'
import { brotliDecompressSync, gunzipSync, gzipSync, inflateSync } from 'node:zlib'
import { gatewayFor, oneService } from '../helpers/gateway.js'
import { startUpstream, type TestUpstream, type UpstreamHandler } from '../helpers/upstream.js'

/** 20 KB of JSON that compresses well but not trivially. */
const JSON_BODY = Buffer.from(JSON.stringify(Array.from({ length: 200 }, (_, id) => ({ id, name: `user-${id}`, email: `user${id}@example.com`, active: id % 3 === 0 }))))
  .subarray(0, 20_000)
const SMALL_BODY = Buffer.from(JSON.stringify({ id: 1, name: 'small' }))
// Starts with bytes @fastify/compress's sniffing takes for a zlib header ("80" = 0x38 0x30, a multiple of 31).
const CSV_BODY = Buffer.from('80,north,12\n' + 'id,region,count\n'.repeat(200))

interface Canned {
  readonly status?: number
  readonly headers: OutgoingHttpHeaders
  readonly body?: Buffer
  /** Send without Content-Length (chunked). */
  readonly chunked?: boolean
}

const JSON_TYPE = { 'content-type': 'application/json' }

const CANNED: Readonly<Record<string, Canned>> = {
  '/json': { headers: { ...JSON_TYPE, etag: '"v1"', 'accept-ranges': 'bytes' }, body: JSON_BODY },
  '/small': { headers: JSON_TYPE, body: SMALL_BODY },
  '/weak-etag': { headers: { ...JSON_TYPE, etag: 'W/"v2"' }, body: JSON_BODY },
  '/vary-origin': { headers: { ...JSON_TYPE, vary: 'Origin' }, body: JSON_BODY },
  '/vary-has-it': { headers: { ...JSON_TYPE, vary: 'origin, accept-encoding' }, body: JSON_BODY },
  '/vary-star': { headers: { ...JSON_TYPE, vary: '*' }, body: JSON_BODY },
  '/no-transform': { headers: { ...JSON_TYPE, 'cache-control': 'public, max-age=60, no-transform' }, body: JSON_BODY },
  '/encoded': { headers: { ...JSON_TYPE, 'content-encoding': 'gzip' }, body: gzipSync(JSON_BODY) },
  '/identity-coded': { headers: { ...JSON_TYPE, 'content-encoding': 'identity' }, body: JSON_BODY },
  '/chunked': { headers: JSON_TYPE, body: JSON_BODY, chunked: true },
  '/png': { headers: { 'content-type': 'image/png' }, body: JSON_BODY },
  '/untyped': { headers: {}, body: JSON_BODY },
  '/csv': { headers: { 'content-type': 'text/csv' }, body: CSV_BODY },
  '/digest': { headers: { ...JSON_TYPE, 'content-digest': 'sha-256=:x:' }, body: JSON_BODY },
  '/range': { status: 206, headers: { ...JSON_TYPE, 'content-range': 'bytes 0-19999/40000' }, body: JSON_BODY },
  '/not-modified': { status: 304, headers: { etag: '"v1"' } },
  '/no-content': { status: 204, headers: JSON_TYPE },
  '/error': { status: 500, headers: JSON_TYPE, body: JSON_BODY }
}

const cannedUpstream: UpstreamHandler = (request, response) => {
  const canned = CANNED[request.url ?? ''] ?? { status: 404, headers: {} }
  const body = canned.body ?? Buffer.alloc(0)
  const headers = canned.chunked === true || canned.body === undefined ? canned.headers : { ...canned.headers, 'content-length': body.length }
  response.writeHead(canned.status ?? 200, headers)
  if (request.method === 'HEAD' || canned.body === undefined) {
    response.end()
  } else if (canned.chunked === true) {
    // Two writes: Node sends them as chunks, with no Content-Length.
    response.write(body.subarray(0, 1000))
    response.end(body.subarray(1000))
  } else {
    response.end(body)
  }
}

function decode (encoding: string | undefined, body: Buffer): Buffer {
  switch (encoding) {
    case 'gzip': return gunzipSync(body)
    case 'br': return brotliDecompressSync(body)
    case 'deflate': return inflateSync(body)
    default: throw new Error(`unexpected content-encoding ${String(encoding)}`)
  }
}

let upstream: TestUpstream
let app: FastifyInstance

beforeAll(async () => {
  upstream = await startUpstream(cannedUpstream)
  app = await gatewayFor(oneService([upstream.url]))
})

afterAll(async () => {
  await app.close()
  await upstream.close()
})

async function get (path: string, acceptEncoding?: string, method: 'GET' | 'HEAD' = 'GET'): Promise<LightMyRequestResponse> {
  return app.inject({ method, url: `/users${path}`, headers: acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding } })
}

function expectUntouched (response: LightMyRequestResponse, body: Buffer): void {
  expect(response.headers['content-encoding']).toBeUndefined()
  expect(response.headers['content-length']).toBe(String(body.length))
  expect(response.rawPayload.equals(body)).toBe(true)
}

describe('bodies worth compressing', () => {
  it.each(['gzip', 'br', 'deflate'])('20 KB of JSON is sent in %s and decodes to the upstream bytes', async (encoding) => {
    const response = await get('/json', encoding)
    expect(response.statusCode).toBe(200)
    expect(response.headers['content-encoding']).toBe(encoding)
    // Up to 64 KiB the body is encoded whole once it arrived, so its encoded length is known.
    expect(response.headers['content-length']).toBe(String(response.rawPayload.length))
    expect(response.headers.vary).toBe('Accept-Encoding')
    expect(response.rawPayload.length).toBeLessThan(JSON_BODY.length / 2)
    expect(decode(encoding, response.rawPayload).equals(JSON_BODY)).toBe(true)
  })

  it('also when the upstream labels its body identity', async () => {
    const response = await get('/identity-coded', 'gzip')
    expect(response.headers['content-encoding']).toBe('gzip')
    expect(gunzipSync(response.rawPayload).equals(JSON_BODY)).toBe(true)
  })

  it('error answers with a body worth it are compressed as well, their status kept', async () => {
    const response = await get('/error', 'gzip')
    expect(response.statusCode).toBe(500)
    expect(response.headers['content-encoding']).toBe('gzip')
    expect(gunzipSync(response.rawPayload).equals(JSON_BODY)).toBe(true)
  })

  it('a text body whose first bytes look like a zlib header still decodes (fastify/fastify-compress#347)', async () => {
    for (const encoding of ['gzip', 'deflate', 'br']) {
      const response = await get('/csv', encoding)
      expect(response.headers['content-encoding']).toBe(encoding)
      expect(decode(encoding, response.rawPayload).equals(CSV_BODY)).toBe(true)
    }
  })
})

describe('the coding follows Accept-Encoding', () => {
  it.each<[string, string | undefined]>([
    ['gzip;q=0.5, br;q=1', 'br'],
    ['gzip, deflate, br, zstd', 'br'],
    ['gzip;q=0', undefined],
    ['gzip;q=0, *', 'br'],
    ['br;q=0, *', 'gzip'],
    ['*', 'br'],
    ['x-gzip', 'gzip'],
    ['identity', undefined],
    ['zstd, compress', undefined]
  ])('%j → %s', async (acceptEncoding, expected) => {
    const response = await get('/json', acceptEncoding)
    expect(response.headers['content-encoding']).toBe(expected)
    expect(response.headers.vary).toBe('Accept-Encoding')
    if (expected === undefined) expectUntouched(response, JSON_BODY)
    else expect(decode(expected, response.rawPayload).equals(JSON_BODY)).toBe(true)
  })

  it('a client without Accept-Encoding gets identity, with Vary: Accept-Encoding for caches on the way', async () => {
    const response = await get('/json')
    expectUntouched(response, JSON_BODY)
    expect(response.headers.vary).toBe('Accept-Encoding')
    expect(response.headers.etag).toBe('"v1"')
    expect(response.headers['accept-ranges']).toBe('bytes')
  })
})

describe('headers of a compressed response', () => {
  it('a strong ETag becomes weak and Accept-Ranges goes, only when the body is compressed', async () => {
    const compressed = await get('/json', 'gzip')
    expect(compressed.headers.etag).toBe('W/"v1"')
    expect(compressed.headers['accept-ranges']).toBeUndefined()
    const identity = await get('/json', 'identity')
    expect(identity.headers.etag).toBe('"v1"')
  })

  it('a weak ETag stays as it is', async () => {
    const response = await get('/weak-etag', 'gzip')
    expect(response.headers['content-encoding']).toBe('gzip')
    expect(response.headers.etag).toBe('W/"v2"')
  })

  it.each([
    ['/vary-origin', 'gzip', 'Origin, Accept-Encoding'],
    ['/vary-origin', undefined, 'Origin, Accept-Encoding'],
    ['/vary-has-it', 'gzip', 'origin, accept-encoding'],
    ['/vary-star', 'gzip', '*']
  ])('the upstream Vary of %s (Accept-Encoding %s) becomes %j', async (path, acceptEncoding, vary) => {
    const response = await get(path, acceptEncoding)
    expect(response.headers.vary).toBe(vary)
  })
})

describe('responses passed through as they are', () => {
  it('a body below the threshold keeps its Content-Length and gets no Vary', async () => {
    const response = await get('/small', 'gzip')
    expectUntouched(response, SMALL_BODY)
    expect(response.headers.vary).toBeUndefined()
  })

  it.each([
    ['Cache-Control: no-transform', '/no-transform'],
    ['a binary type', '/png'],
    ['no Content-Type', '/untyped'],
    ['a Content-Digest', '/digest']
  ])('%s', async (_reason, path) => {
    const response = await get(path, 'gzip, br')
    expectUntouched(response, JSON_BODY)
    expect(response.headers.vary).toBeUndefined()
  })

  it('a body the upstream already encoded, byte for byte', async () => {
    const response = await get('/encoded', 'br, gzip')
    expect(response.headers['content-encoding']).toBe('gzip')
    expect(response.headers['content-length']).toBe(String(CANNED['/encoded']?.body?.length))
    expect(response.rawPayload.equals(CANNED['/encoded']?.body as Buffer)).toBe(true)
  })

  it('a body of unknown length (chunked), without a Content-Length added', async () => {
    const response = await get('/chunked', 'gzip')
    expect(response.headers['content-encoding']).toBeUndefined()
    expect(response.headers['content-length']).toBeUndefined()
    expect(response.headers['transfer-encoding']).toBe('chunked')
    expect(response.rawPayload.equals(JSON_BODY)).toBe(true)
  })

  it('a range (206 with Content-Range)', async () => {
    const response = await get('/range', 'gzip')
    expect(response.statusCode).toBe(206)
    expectUntouched(response, JSON_BODY)
    expect(response.headers['content-range']).toBe('bytes 0-19999/40000')
  })

  it.each([[304, '/not-modified'], [204, '/no-content']])('a %i', async (status, path) => {
    const response = await get(path, 'gzip')
    expect(response.statusCode).toBe(status)
    expect(response.headers['content-encoding']).toBeUndefined()
    expect(response.headers.vary).toBeUndefined()
    expect(response.rawPayload.length).toBe(0)
  })

  it('a HEAD: identity headers of the GET (length, strong ETag), with the Vary the GET carries', async () => {
    const response = await get('/json', 'gzip', 'HEAD')
    expect(response.statusCode).toBe(200)
    expect(response.headers['content-encoding']).toBeUndefined()
    expect(response.headers['content-length']).toBe(String(JSON_BODY.length))
    expect(response.headers.etag).toBe('"v1"')
    expect(response.headers.vary).toBe('Accept-Encoding')
    expect(response.rawPayload.length).toBe(0)
  })
})

describe('gateway.compression and services[].compression', () => {
  it('a service with compression off sends every body as the upstream did', async () => {
    const off = await gatewayFor(oneService([upstream.url], { compression: false }))
    try {
      const response = await off.inject({ url: '/users/json', headers: { 'accept-encoding': 'gzip' } })
      expectUntouched(response, JSON_BODY)
      expect(response.headers.vary).toBeUndefined()
      expect(response.headers.etag).toBe('"v1"')
    } finally {
      await off.close()
    }
  })

  it('the threshold and the offered codings come from gateway.compression', async () => {
    const tuned = await gatewayFor(oneService([upstream.url], {}, { compression: { threshold: 16, encodings: ['gzip'] } }))
    try {
      const small = await tuned.inject({ url: '/users/small', headers: { 'accept-encoding': 'gzip' } })
      expect(small.headers['content-encoding']).toBe('gzip')
      expect(gunzipSync(small.rawPayload).equals(SMALL_BODY)).toBe(true)
      const brOnly = await tuned.inject({ url: '/users/json', headers: { 'accept-encoding': 'br' } })
      expectUntouched(brOnly, JSON_BODY)
      expect(brOnly.headers.vary).toBe('Accept-Encoding')
    } finally {
      await tuned.close()
    }
  })
})
