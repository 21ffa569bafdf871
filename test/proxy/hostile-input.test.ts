/**
 * Inputs found in review of the gateway core that once ended in a wrong status, a leak or a hang: each
 * test names the behaviour it pins.
 */
import { once } from 'node:events'
import { Writable } from 'node:stream'
import pino from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import type { RunningGateway } from '../../src/server.js'
import { startGateway } from '../../src/server.js'
import { configFor, listeningGatewayFor, oneService } from '../helpers/gateway.js'
import { sendRequest, type ClientResponse } from '../helpers/client.js'
import { closedPort, startRawUpstream, type RawUpstream } from '../helpers/misbehaving-upstream.js'
import { expectProblem } from '../helpers/problem.js'
import { startUpstream, type TestUpstream } from '../helpers/upstream.js'

/** The client's answer in the shape expectProblem reads. */
function answer (response: ClientResponse): { statusCode: number, headers: Record<string, unknown>, body: string } {
  return { statusCode: response.status, headers: response.headers, body: response.body }
}

let gateway: RunningGateway | undefined
let upstream: TestUpstream | undefined
let raw: RawUpstream | undefined

afterEach(async () => {
  await gateway?.close()
  await upstream?.close()
  await raw?.close()
  gateway = upstream = raw = undefined
})

describe('a request with Expect: 100-continue', () => {
  it('is proxied with its body (Node answers the 100; the header is not forwarded)', async () => {
    upstream = await startUpstream()
    gateway = await listeningGatewayFor(oneService([upstream.url]))
    const response = await sendRequest(gateway.url, {
      method: 'POST',
      path: '/users/1',
      headers: { expect: '100-continue', 'content-type': 'application/json', 'content-length': '11' },
      body: '{"a":"bcd"}'
    })
    expect(response.status).toBe(200)
    expect(upstream.requests[0]?.bodyBytes).toBe(11)
    expect(upstream.requests[0]?.headers.expect).toBeUndefined()
  })
})

describe('headers that frameworks trust', () => {
  it('are dropped when a client that is not a trusted proxy sends them', async () => {
    upstream = await startUpstream()
    gateway = await listeningGatewayFor(oneService([upstream.url]))
    await sendRequest(gateway.url, {
      path: '/users/1',
      headers: {
        'x-forwarded-port': '1',
        'x-forwarded-ssl': 'on',
        'x-forwarded-server': 'evil',
        'front-end-https': 'on',
        'x-original-url': '/admin',
        'x-rewrite-url': '/admin',
        'true-client-ip': '6.6.6.6',
        'x-client-ip': '6.6.6.6',
        'cf-connecting-ip': '6.6.6.6'
      }
    })
    const seen = upstream.requests[0]?.headers ?? {}
    for (const name of ['x-forwarded-port', 'x-forwarded-ssl', 'x-forwarded-server', 'front-end-https', 'x-original-url',
      'x-rewrite-url', 'true-client-ip', 'x-client-ip', 'cf-connecting-ip']) {
      expect(seen[name], name).toBeUndefined()
    }
  })

  it('never let the upstream replace the gateway\'s X-Request-Id on the response', async () => {
    upstream = await startUpstream((_request, response) => {
      response.writeHead(200, { 'x-request-id': 'upstream-chosen', 'content-length': '2' })
      response.end('ok')
    })
    gateway = await listeningGatewayFor(oneService([upstream.url]))
    const response = await sendRequest(gateway.url, { path: '/users/1', headers: { 'x-request-id': 'client-chosen' } })
    expect(response.headers['x-request-id']).toBe('client-chosen')
  })
})

describe('an upstream status outside 100-599', () => {
  it('becomes a 502 problem without any of the upstream\'s headers', async () => {
    raw = await startRawUpstream((socket) => {
      socket.once('data', () => socket.end('HTTP/1.1 600 Weird\r\nContent-Encoding: gzip\r\nSet-Cookie: a=1\r\nContent-Length: 2\r\n\r\nhi'))
    })
    gateway = await listeningGatewayFor(oneService([raw.url]))
    const response = await sendRequest(gateway.url, { path: '/users/1' })
    expectProblem(answer(response), 502, 'GATEHOUSE_UPSTREAM_BAD_RESPONSE', [String(raw.port)])
    expect(response.headers['content-encoding']).toBeUndefined()
    expect(response.headers['set-cookie']).toBeUndefined()
  })
})

describe('bodies the gateway has no upstream for', () => {
  it('never get parsed: a service without upstreams answers 503 to any content type', async () => {
    gateway = await listeningGatewayFor(oneService([]))
    const response = await sendRequest(gateway.url, {
      method: 'POST', path: '/users', headers: { 'content-type': 'application/xml' }, body: '<a/>'
    })
    expectProblem(answer(response), 503, 'GATEHOUSE_NO_UPSTREAM')
  })

  it('never get parsed: an unknown path answers 404 even with a broken JSON body', async () => {
    gateway = await listeningGatewayFor(oneService([]))
    const response = await sendRequest(gateway.url, {
      method: 'POST', path: '/nowhere', headers: { 'content-type': 'application/json' }, body: '{'
    })
    expectProblem(answer(response), 404, 'GATEHOUSE_NOT_FOUND')
  })
})

describe('a WebSocket whose upstream cannot be reached', () => {
  it('is closed with 1011 and no reason (the upstream address never reaches the client)', async () => {
    const port = await closedPort()
    gateway = await listeningGatewayFor(oneService([`http://127.0.0.1:${port}`], { websocket: true }))
    const client = new WebSocket(`${gateway.url.replace('http', 'ws')}/users/live`)
    await once(client, 'open')
    const [code, reason] = await once(client, 'close') as [number, Buffer]
    expect(code).toBe(1011)
    expect(reason.toString()).toBe('')
    // The gateway is still serving.
    expect((await fetch(`${gateway.url}/_gatehouse/healthz`)).status).toBe(200)
  })
})

describe('a client that leaves before its response is complete', () => {
  it('still gets exactly one access-log line, with nginx\'s 499', async () => {
    let arrived: () => void = () => {}
    const requestArrived = new Promise<void>((resolve) => { arrived = resolve })
    upstream = await startUpstream(() => { arrived() }) // never answers
    const lines: Array<Record<string, unknown>> = []
    const sink = new Writable({
      write (chunk: Buffer, _encoding, callback) {
        for (const text of chunk.toString().split('\n')) if (text) lines.push(JSON.parse(text) as Record<string, unknown>)
        callback()
      }
    })
    gateway = await startGateway(await configFor(oneService([upstream.url])), { host: '127.0.0.1', port: 0 },
      { loggerInstance: pino({ level: 'info' }, sink) })
    const controller = new AbortController()
    const pending = fetch(`${gateway.url}/users/slow`, { signal: controller.signal }).catch(() => 'aborted')
    await requestArrived
    controller.abort()
    expect(await pending).toBe('aborted')
    await expect.poll(() => lines.filter((line) => line.path === '/users/slow')).toHaveLength(1)
    expect(lines.find((line) => line.path === '/users/slow')).toMatchObject({ msg: 'request aborted', status: 499, service: 'users' })
  })
})
