import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { deflateSync, gzipSync } from 'node:zlib'
import { gatewayFor, oneService } from '../helpers/gateway.js'
import { startUpstream, type TestUpstream } from '../helpers/upstream.js'

// design.md §4: @fastify/compress inflates request bodies by default yet forwards their Content-Encoding.
describe('request bodies with a Content-Encoding', () => {
  const received: Buffer[] = []
  let upstream: TestUpstream
  let app: FastifyInstance

  beforeEach(async () => {
    received.length = 0
    upstream = await startUpstream((_request, response, body) => {
      received.push(body)
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': 2 })
      response.end('{}')
    })
    app = await gatewayFor(oneService([upstream.url]))
  })

  afterEach(async () => {
    await app.close()
    await upstream.close()
  })

  it.each([
    ['gzip', gzipSync(Buffer.from(JSON.stringify({ items: Array.from({ length: 500 }, (_, i) => i) })))],
    ['deflate', deflateSync(Buffer.from('x'.repeat(5000)))],
    // Not valid gzip at all: still not the gateway's business.
    ['gzip', Buffer.from('not really gzip')]
  ])('reach the upstream byte for byte, still labelled %s', async (encoding, body) => {
    const response = await app.inject({
      method: 'POST',
      url: '/users/upload',
      headers: { 'content-type': 'application/json', 'content-encoding': encoding, 'accept-encoding': 'gzip' },
      payload: body
    })
    expect(response.statusCode).toBe(200)
    expect(received).toHaveLength(1)
    expect(received[0]?.equals(body)).toBe(true)
    expect(upstream.requests[0]?.headers['content-encoding']).toBe(encoding)
    expect(upstream.requests[0]?.headers['content-length']).toBe(String(body.length))
  })
})
