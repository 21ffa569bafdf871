/**
 * Proxied bodies up to 64 KiB with a Content-Length are sent whole once they have arrived; longer ones and
 * unknown lengths stream (src/proxy/whole-body.ts). What the client sees must not depend on which path
 * a body took, on a plain service, a compressing one (client without Accept-Encoding) and a caching one,
 * except that a body which fails before it is complete can still be answered with a problem.
 */
import { afterEach, describe, expect, it } from 'vitest'
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

const WHOLE = 30_000
const STREAMED = 200_000
const bodyOf = (length: number): Buffer => Buffer.alloc(length, 'abcdefghij')

const SERVICES: ReadonlyArray<[string, Record<string, unknown>]> = [
  ['plain service', { compression: false }],
  ['compressing service', {}],
  ['caching service', { compression: false, cache: true }]
]

/**
 * /whole/<n> and /streamed/<n>: n bytes with their Content-Length; /streamed holds the rest of its body
 * back after the first 16 KB until `releaseRest` is called. /dies declares 30 000 bytes and sends 10 000.
 */
async function bodiesUpstream (): Promise<{ upstream: TestUpstream, releaseRest: () => void }> {
  let releaseRest: () => void = () => {}
  const restAllowed = new Promise<void>((resolve) => { releaseRest = resolve })
  const started = await startUpstream((request, response) => {
    const [, kind, size] = (request.url ?? '').split('/')
    if (kind === 'dies') {
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': WHOLE })
      response.write(bodyOf(10_000), () => { response.socket?.destroy() })
      return
    }
    if (kind === 'no-content') {
      response.writeHead(204)
      response.end()
      return
    }
    if (kind === 'not-modified') {
      // A 304 may carry the Content-Length of the representation it stands for (RFC 9110 §8.6).
      response.writeHead(304, { 'content-type': 'application/json', 'content-length': WHOLE, etag: '"v1"' })
      response.end()
      return
    }
    if (kind === 'untyped') {
      response.writeHead(200, { 'content-length': 5 })
      response.end('plain')
      return
    }
    const body = bodyOf(Number(size))
    response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length })
    if (kind !== 'streamed' || request.method === 'HEAD') {
      response.end(body)
      return
    }
    response.write(body.subarray(0, 16_384))
    restAllowed.then(() => response.end(body.subarray(16_384)), () => {})
  })
  return { upstream: started, releaseRest }
}

/** The gateway, with `serviceOptions`, in front of bodiesUpstream. */
async function gatewayOverBodies (serviceOptions: Record<string, unknown>): Promise<{ url: string, port: number, releaseRest: () => void }> {
  const started = await bodiesUpstream()
  upstream = started.upstream
  gateway = await listeningGatewayFor(oneService([started.upstream.url], serviceOptions))
  return { url: gateway.url, port: started.upstream.port, releaseRest: started.releaseRest }
}

describe.each(SERVICES)('proxied bodies on a %s', (_label, serviceOptions) => {
  it('a body up to 64 KiB arrives byte for byte with its Content-Length, not chunked', async () => {
    const started = await gatewayOverBodies(serviceOptions)
    const received = await receiveOnce(started.url, `/users/whole/${WHOLE}`, {})
    if (received instanceof Error) throw received
    expect(received.status).toBe(200)
    expect(received.complete).toBe(true)
    expect(received.headers['content-length']).toBe(String(WHOLE))
    expect(received.headers['transfer-encoding']).toBeUndefined()
    expect(received.body.equals(bodyOf(WHOLE))).toBe(true)
  })

  it('HEAD keeps the upstream\'s Content-Length and carries no body', async () => {
    const started = await gatewayOverBodies(serviceOptions)
    const received = await receiveOnce(started.url, `/users/whole/${WHOLE}`, {}, { method: 'HEAD' })
    if (received instanceof Error) throw received
    expect(received.status).toBe(200)
    expect(received.headers['content-length']).toBe(String(WHOLE))
    expect(received.body.length).toBe(0)
  })

  it('304 keeps the upstream\'s Content-Length and Content-Type and carries no body', async () => {
    const started = await gatewayOverBodies(serviceOptions)
    const received = await receiveOnce(started.url, '/users/not-modified', { 'if-none-match': '"v1"' })
    if (received instanceof Error) throw received
    expect(received.status).toBe(304)
    expect(received.headers['content-length']).toBe(String(WHOLE))
    expect(received.headers['content-type']).toBe('application/json')
    expect(received.body.length).toBe(0)
  })

  it('a body the upstream sent without Content-Type gets none from the gateway', async () => {
    const started = await gatewayOverBodies(serviceOptions)
    const received = await receiveOnce(started.url, '/users/untyped', {})
    if (received instanceof Error) throw received
    expect(received.status).toBe(200)
    expect(received.headers['content-type']).toBeUndefined()
    expect(received.body.toString('utf8')).toBe('plain')
  })

  it('204 passes through without a body', async () => {
    const started = await gatewayOverBodies(serviceOptions)
    const received = await receiveOnce(started.url, '/users/no-content', {})
    if (received instanceof Error) throw received
    expect(received.status).toBe(204)
    expect(received.body.length).toBe(0)
  })

  it('a body above 64 KiB streams: its first bytes reach the client before the upstream has sent the rest', async () => {
    const started = await gatewayOverBodies(serviceOptions)
    let firstChunkLength = 0
    const received = await receiveOnce(started.url, `/users/streamed/${STREAMED}`, {}, {
      onFirstChunk: (chunk) => {
        firstChunkLength = chunk.length
        // The upstream sends the rest only once the client holds the start: a gateway that waited for the
        // whole body would never answer.
        started.releaseRest()
      }
    })
    if (received instanceof Error) throw received
    expect(firstChunkLength).toBeGreaterThan(0)
    expect(firstChunkLength).toBeLessThan(STREAMED)
    expect(received.complete).toBe(true)
    expect(received.body.equals(bodyOf(STREAMED))).toBe(true)
  })

  it('an upstream that dies mid-body is answered 502 without its headers (nothing was sent yet), and the gateway keeps serving', async () => {
    const started = await gatewayOverBodies(serviceOptions)
    const received = await receiveOnce(started.url, '/users/dies', {})
    if (received instanceof Error) throw received
    expectProblem({ statusCode: received.status, headers: received.headers, body: received.body.toString('utf8') }, 502, 'GATEHOUSE_UPSTREAM_RESET', [String(started.port)])
    // The upstream's own fields describe a body that never came.
    expect(received.headers['content-length']).not.toBe(String(WHOLE))
    const next = await receiveOnce(started.url, '/users/whole/10', {})
    if (next instanceof Error) throw next
    expect(next.status).toBe(200)
    expect(next.body.equals(bodyOf(10))).toBe(true)
  })
})
