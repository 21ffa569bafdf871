import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { once } from 'node:events'
import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http'
import { pipeline, type Readable } from 'node:stream'
import type { RunningGateway } from '../../src/server.js'
import { listeningGatewayFor, oneService } from '../helpers/gateway.js'
import { MB, countingUpstream, generatedBody, sampleRss, type ReceivedUpload } from '../helpers/streams.js'
import { startUpstream, type TestUpstream } from '../helpers/upstream.js'

const TRANSFER_BYTES = 200 * MB
const STREAMING_LIMIT = 300 * MB
// Gateway, upstream and client all live in this process, so RSS covers all three.
const MAX_RSS_GROWTH = 50 * MB
const WARM_UP_BYTES = 32 * MB

interface StreamedResponse {
  readonly response: IncomingMessage
  /** The response body as text when it is small, or its size. */
  readonly text: string
  readonly bytes: number
}

/**
 * Sends `body` (or only the head, when `body` is 'head-only') and resolves with the response read to its end.
 * The gateway may answer before the upload is finished; write errors after that are expected and ignored.
 */
async function send (baseUrl: string, method: string, path: string, headers: OutgoingHttpHeaders, body?: Readable | 'head-only'): Promise<StreamedResponse> {
  const { hostname, port } = new URL(baseUrl)
  const request = httpRequest({ host: hostname, port, method, path, headers, agent: false })
  request.on('error', () => {})
  if (body === 'head-only') request.flushHeaders()
  else if (body) pipeline(body, request, () => {})
  else request.end()
  const [response] = await once(request, 'response') as [IncomingMessage]
  let text = ''
  let bytes = 0
  for await (const chunk of response) {
    bytes += (chunk as Buffer).length
    if (text.length < 4096) text += (chunk as Buffer).toString('utf8')
  }
  request.destroy()
  return { response, text, bytes }
}

describe('a 200 MB body streams through the gateway without being buffered', () => {
  let upstream: TestUpstream
  let gateway: RunningGateway
  const uploads: ReceivedUpload[] = []

  beforeAll(async () => {
    upstream = await startUpstream(countingUpstream(uploads), { streamBody: true })
    gateway = await listeningGatewayFor(oneService([upstream.url], { bodyLimit: STREAMING_LIMIT }, { limits: { bodyBytes: STREAMING_LIMIT } }))
    // Warm up: the first megabytes through fresh sockets grow the heap and the socket buffers to their
    // working size, which would otherwise be counted against the first transfer.
    await send(gateway.url, 'POST', '/users/upload', { 'transfer-encoding': 'chunked' }, generatedBody(WARM_UP_BYTES))
    await send(gateway.url, 'GET', `/users/download?bytes=${WARM_UP_BYTES}`, {})
  })

  afterAll(async () => {
    await gateway.close()
    await upstream.close()
  })

  it.each([
    ['with a declared Content-Length', { 'content-length': TRANSFER_BYTES }],
    ['chunked', { 'transfer-encoding': 'chunked' }]
  ])('as an upload %s, reaching the upstream whole', async (_case, headers) => {
    const rss = sampleRss()
    const { response, text } = await send(gateway.url, 'POST', '/users/upload', headers, generatedBody(TRANSFER_BYTES))
    const growth = rss.stop()
    expect(response.statusCode).toBe(200)
    expect(JSON.parse(text)).toEqual({ bytes: TRANSFER_BYTES })
    expect(uploads.at(-1)).toMatchObject({ bytes: TRANSFER_BYTES, complete: true })
    expect(growth, `RSS grew by ${Math.round(growth / MB)} MB`).toBeLessThan(MAX_RSS_GROWTH)
  })

  it('as a download, reaching the client whole', async () => {
    const rss = sampleRss()
    const { response, bytes } = await send(gateway.url, 'GET', `/users/download?bytes=${TRANSFER_BYTES}`, {})
    const growth = rss.stop()
    expect(response.statusCode).toBe(200)
    expect(response.headers['content-length']).toBe(String(TRANSFER_BYTES))
    expect(bytes).toBe(TRANSFER_BYTES)
    expect(growth, `RSS grew by ${Math.round(growth / MB)} MB`).toBeLessThan(MAX_RSS_GROWTH)
  })
})

describe('the service body limit', () => {
  const LIMIT = 64 * 1024
  let upstream: TestUpstream
  let gateway: RunningGateway
  let uploads: ReceivedUpload[]

  beforeEach(async () => {
    uploads = []
    upstream = await startUpstream(countingUpstream(uploads), { streamBody: true })
    gateway = await listeningGatewayFor(oneService([upstream.url], { bodyLimit: LIMIT }))
  })

  afterEach(async () => {
    await gateway.close()
    await upstream.close()
  })

  function expectBodyTooLarge ({ response, text }: StreamedResponse): void {
    expect(response.statusCode).toBe(413)
    expect(response.headers['content-type']).toContain('application/problem+json')
    expect(JSON.parse(text)).toMatchObject({ status: 413, code: 'GATEHOUSE_BODY_TOO_LARGE', requestId: response.headers['x-request-id'] })
  }

  it('answers a declared Content-Length over the limit with 413 before reading the body', async () => {
    const result = await send(gateway.url, 'POST', '/users/upload', { 'content-length': LIMIT + 1 }, 'head-only')
    expectBodyTooLarge(result)
    expect(result.response.headers.connection).toBe('close')
    expect(upstream.requests).toHaveLength(0)
  })

  it('accepts a declared Content-Length exactly at the limit', async () => {
    const { response, text } = await send(gateway.url, 'POST', '/users/upload', { 'content-length': LIMIT }, generatedBody(LIMIT))
    expect(response.statusCode).toBe(200)
    expect(JSON.parse(text)).toEqual({ bytes: LIMIT })
  })

  it('answers a chunked body that passes the limit mid-stream with 413, and the upstream never gets it whole', async () => {
    const result = await send(gateway.url, 'POST', '/users/upload', { 'transfer-encoding': 'chunked' }, generatedBody(16 * LIMIT))
    expectBodyTooLarge(result)
    await Promise.all(uploads.map((upload) => upload.closed))
    for (const upload of uploads) {
      expect(upload.complete).toBe(false)
      expect(upload.bytes).toBeLessThanOrEqual(LIMIT)
    }
  })

  it('passes a chunked body under the limit', async () => {
    const { response, text } = await send(gateway.url, 'POST', '/users/upload', { 'transfer-encoding': 'chunked' }, generatedBody(LIMIT - 1))
    expect(response.statusCode).toBe(200)
    expect(JSON.parse(text)).toEqual({ bytes: LIMIT - 1 })
    expect(uploads).toMatchObject([{ bytes: LIMIT - 1, complete: true }])
  })

  it('answers a chunked body one byte over the limit with 413', async () => {
    const result = await send(gateway.url, 'POST', '/users/upload', { 'transfer-encoding': 'chunked' }, generatedBody(LIMIT + 1))
    expectBodyTooLarge(result)
  })
})
