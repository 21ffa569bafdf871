import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningGateway } from '../../src/server.js'
import { sendRawHead } from '../helpers/client.js'
import { listeningGatewayFor, oneService } from '../helpers/gateway.js'
import { startUpstream, type TestUpstream } from '../helpers/upstream.js'

const HEADER_BYTES = 2048

describe('malformed requests, answered before any route runs', () => {
  let upstream: TestUpstream
  let gateway: RunningGateway

  beforeAll(async () => {
    upstream = await startUpstream()
    gateway = await listeningGatewayFor(oneService([upstream.url], {}, { limits: { headerBytes: HEADER_BYTES } }))
  })

  afterAll(async () => {
    await gateway.close()
    await upstream.close()
  })

  it('answers a request head over gateway.limits.headerBytes with a 431 problem', async () => {
    const head = 'GET /users/1 HTTP/1.1\r\nHost: gatehouse.test\r\n' +
      `X-Padding: ${'a'.repeat(HEADER_BYTES * 2)}\r\n\r\n`
    const before = upstream.requests.length
    const response = await sendRawHead(gateway.url, head)
    expect(response.statusLine).toMatch(/^HTTP\/1\.1 431 /)
    expect(response.headers['content-type']).toBe('application/problem+json')
    expect(JSON.parse(response.body)).toMatchObject({ status: 431, code: 'GATEHOUSE_HEADERS_TOO_LARGE' })
    expect(upstream.requests).toHaveLength(before)
  })

  it('still accepts a request head just under the limit', async () => {
    const head = 'GET /users/1 HTTP/1.1\r\nHost: gatehouse.test\r\nConnection: close\r\n' +
      `X-Padding: ${'a'.repeat(HEADER_BYTES / 2)}\r\n\r\n`
    const response = await sendRawHead(gateway.url, head)
    expect(response.statusLine).toMatch(/^HTTP\/1\.1 200 /)
  })

  it.each([
    ['a request line with an unknown protocol', 'GET /users/1 HTTX/1.1\r\nHost: gatehouse.test\r\n\r\n'],
    ['a request line with an invalid method', 'G(T /users/1 HTTP/1.1\r\nHost: gatehouse.test\r\n\r\n'],
    ['a request line with a space in the path', 'GET /users/1 2 HTTP/1.1\r\nHost: gatehouse.test\r\n\r\n'],
    ['a request line that is not HTTP at all', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n'],
    ['a header line without a colon', 'GET /users/1 HTTP/1.1\r\nHost gatehouse.test\r\n\r\n']
  ])('answers %s with a 400 problem', async (_case, bytes) => {
    const response = await sendRawHead(gateway.url, bytes)
    expect(response.statusLine).toMatch(/^HTTP\/1\.1 400 /)
    expect(response.headers['content-type']).toBe('application/problem+json')
    expect(JSON.parse(response.body)).toMatchObject({ status: 400, code: 'GATEHOUSE_BAD_REQUEST' })
  })

  it('answers a malformed percent-encoding in the path with a 400 problem, not a 500', async () => {
    const before = upstream.requests.length
    const response = await sendRawHead(gateway.url, 'GET /users/%zz HTTP/1.1\r\nHost: gatehouse.test\r\nConnection: close\r\n\r\n')
    expect(response.statusLine).toMatch(/^HTTP\/1\.1 400 /)
    expect(response.headers['content-type']).toContain('application/problem+json')
    const problem = JSON.parse(response.body) as Record<string, unknown>
    expect(problem).toMatchObject({ status: 400, code: 'GATEHOUSE_BAD_PATH' })
    expect(problem.requestId).toBe(response.headers['x-request-id'])
    expect(upstream.requests).toHaveLength(before)
  })
})
