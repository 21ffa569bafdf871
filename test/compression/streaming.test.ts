import { afterEach, describe, expect, it } from 'vitest'
import { gunzipSync } from 'node:zlib'
import type { RunningGateway } from '../../src/server.js'
import { receiveOnce } from '../helpers/client.js'
import { listeningGatewayFor, oneService } from '../helpers/gateway.js'
import { expectProblem } from '../helpers/problem.js'
import { startUpstream, type TestUpstream } from '../helpers/upstream.js'

let gateway: RunningGateway | undefined
let upstream: TestUpstream | undefined

afterEach(async () => {
  await gateway?.close()
  await upstream?.close()
  gateway = undefined
  upstream = undefined
})

describe('streamed responses', () => {
  it('text/event-stream is never compressed and reaches the client event by event', async () => {
    let sendSecond: () => void = () => {}
    const secondAllowed = new Promise<void>((resolve) => { sendSecond = resolve })
    upstream = await startUpstream((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
      response.write(`data: one\n\n${':'.repeat(2048)}\n\n`)
      secondAllowed.then(() => response.end('data: two\n\n'), () => {})
    })
    gateway = await listeningGatewayFor(oneService([upstream.url]))
    let firstChunk = ''
    const received = await receiveOnce(gateway.url, '/users/events', { 'accept-encoding': 'gzip, br' }, {
      onFirstChunk: (chunk) => {
        firstChunk = chunk.toString('utf8')
        // The second event is only written once the first one has reached the client.
        sendSecond()
      }
    })
    expect(firstChunk).toContain('data: one')
    expect(firstChunk).not.toContain('data: two')
    if (received instanceof Error) throw received
    expect(received.complete).toBe(true)
    expect(received.headers['content-encoding']).toBeUndefined()
    expect(received.headers.vary).toBeUndefined()
    expect(received.body.toString('utf8')).toBe(`data: one\n\n${':'.repeat(2048)}\n\ndata: two\n\n`)
  })

  it('a 1 MB body streams compressed over real sockets and decodes to the original', async () => {
    const body = Buffer.from(JSON.stringify(Array.from({ length: 20_000 }, (_, id) => ({ id, tag: `t${id % 97}` }))))
    upstream = await startUpstream((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length })
      response.end(body)
    })
    gateway = await listeningGatewayFor(oneService([upstream.url]))
    const received = await receiveOnce(gateway.url, '/users/big', { 'accept-encoding': 'gzip' })
    if (received instanceof Error) throw received
    expect(received.complete).toBe(true)
    expect(received.headers['content-encoding']).toBe('gzip')
    expect(received.headers['transfer-encoding']).toBe('chunked')
    expect(gunzipSync(received.body).equals(body)).toBe(true)
  })
})

describe('a failure while compressing', () => {
  it.each([
    ['streamed (above 64 KiB): the client connection is cut', 200_000, 50_000],
    ['encoded whole (up to 64 KiB): 502, since nothing was sent', 30_000, 10_000]
  ])('an upstream that dies mid-body is never a problem under Content-Encoding, and the gateway keeps serving: %s', async (_label, declared, sent) => {
    upstream = await startUpstream((request, response) => {
      if (request.url === '/ok') {
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': 2 })
        response.end('{}')
        return
      }
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': declared })
      response.write(Buffer.alloc(sent, 0x61), () => { response.socket?.destroy() })
    })
    gateway = await listeningGatewayFor(oneService([upstream.url]))
    const received = await receiveOnce(gateway.url, '/users/dies', { 'accept-encoding': 'gzip' })
    if (declared <= 64 * 1024) {
      if (received instanceof Error) throw received
      expectProblem({ statusCode: received.status, headers: received.headers, body: received.body.toString('utf8') }, 502, 'GATEHOUSE_UPSTREAM_RESET', [String(upstream.port)])
      expect(received.headers['content-encoding']).toBeUndefined()
    } else if (!(received instanceof Error)) {
      // Whatever arrived is a cut response, not a complete answer of any kind.
      expect(received.complete).toBe(false)
      expect(received.status).toBe(200)
    }
    const next = await receiveOnce(gateway.url, '/users/ok', { 'accept-encoding': 'gzip' })
    if (next instanceof Error) throw next
    expect(next.status).toBe(200)
    expect(next.body.toString('utf8')).toBe('{}')
  })
})
