import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import WebSocket from 'ws'
import type { RunningGateway } from '../../src/server.js'
import { listeningGatewayFor, type ServicesFileValue } from '../helpers/gateway.js'
import { startWebSocketUpstream, type WebSocketUpstream } from '../helpers/ws-upstream.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

type HandshakeOutcome = { opened: true, socket: WebSocket } | { opened: false, status?: number, error?: string }

/** Opens a WebSocket; a refused handshake resolves with its status, a hung one with ws's handshake timeout. */
async function connectWebSocket (url: string, headers: Record<string, string> = {}): Promise<HandshakeOutcome> {
  const socket = new WebSocket(url, { headers, handshakeTimeout: 3_000 })
  return new Promise((resolve) => {
    socket.once('open', () => resolve({ opened: true, socket }))
    socket.once('unexpected-response', (request, response: IncomingMessage) => {
      response.resume()
      request.destroy()
      resolve({ opened: false, status: response.statusCode })
    })
    socket.once('error', (error) => resolve({ opened: false, error: error.message }))
  })
}

async function closeWebSocket (socket: WebSocket): Promise<void> {
  const closed = once(socket, 'close')
  socket.close()
  await closed
}

/** A gateway that remembers its client sockets, so a test can cut one a bug left hanging. */
async function trackedGateway (file: ServicesFileValue): Promise<{ gateway: RunningGateway, sockets: Set<Socket> }> {
  const gateway = await listeningGatewayFor(file)
  const sockets = new Set<Socket>()
  gateway.server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  return { gateway, sockets }
}

describe('WebSocket upgrades to a service with "websocket": true', () => {
  let upstream: WebSocketUpstream
  let gateway: RunningGateway
  let wsUrl: string

  beforeAll(async () => {
    upstream = await startWebSocketUpstream()
    gateway = await listeningGatewayFor({ services: [{ name: 'chat', prefix: '/chat', upstreams: [upstream.url], websocket: true }] })
    wsUrl = gateway.url.replace(/^http/, 'ws')
  })

  afterAll(async () => {
    await gateway.close()
    await upstream.close()
  })

  it('are proxied to the upstream, which echoes a message back', async () => {
    const outcome = await connectWebSocket(`${wsUrl}/chat`)
    expect(outcome.opened).toBe(true)
    if (!outcome.opened) return
    outcome.socket.send('hello through the gateway')
    const [data] = await once(outcome.socket, 'message') as [Buffer]
    expect(data.toString()).toBe('hello through the gateway')
    await closeWebSocket(outcome.socket)
  })

  it('reach the upstream with the prefix stripped and the query kept', async () => {
    const handshake = upstream.nextHandshake()
    const outcome = await connectWebSocket(`${wsUrl}/chat/rooms/42?since=7`)
    expect((await handshake).url).toBe('/rooms/42?since=7')
    if (outcome.opened) await closeWebSocket(outcome.socket)
  })

  it('tell the upstream the client address and the request id on the handshake', async () => {
    const handshake = upstream.nextHandshake()
    const outcome = await connectWebSocket(`${wsUrl}/chat`, { 'x-forwarded-for': '6.6.6.6' })
    const { headers } = await handshake
    expect(headers['x-forwarded-for']).toBe('127.0.0.1')
    expect(headers['x-forwarded-prefix']).toBe('/chat')
    expect(headers['x-request-id']).toMatch(UUID)
    if (outcome.opened) await closeWebSocket(outcome.socket)
  })

  it('keep a sane request id the client sent', async () => {
    const handshake = upstream.nextHandshake()
    const outcome = await connectWebSocket(`${wsUrl}/chat`, { 'x-request-id': 'ws-trace-1' })
    expect((await handshake).headers['x-request-id']).toBe('ws-trace-1')
    if (outcome.opened) await closeWebSocket(outcome.socket)
  })

  it('never pass on hop-by-hop headers or the headers the client named in Connection', async () => {
    const { hostname, port } = new URL(gateway.url)
    const handshake = upstream.nextHandshake()
    const request = httpRequest({
      host: hostname,
      port,
      path: '/chat',
      agent: false,
      headers: {
        connection: 'Upgrade, X-Secret',
        upgrade: 'websocket',
        'sec-websocket-key': randomBytes(16).toString('base64'),
        'sec-websocket-version': '13',
        'proxy-authorization': 'Basic Zm9vOmJhcg==',
        'x-secret': 'only-for-the-next-hop',
        'x-kept': 'yes'
      }
    })
    request.end()
    const [response, socket] = await once(request, 'upgrade') as [IncomingMessage, Socket]
    expect(response.statusCode).toBe(101)
    const { headers } = await handshake
    socket.destroy()
    expect(headers['x-kept']).toBe('yes')
    expect(headers).not.toHaveProperty('proxy-authorization')
    expect(headers).not.toHaveProperty('x-secret')
  })
})

describe('WebSocket upgrades to a service without "websocket"', () => {
  let upstream: WebSocketUpstream

  beforeAll(async () => { upstream = await startWebSocketUpstream() })
  afterAll(async () => { await upstream.close() })

  it('are not upgraded: the request goes upstream as plain HTTP and the client sees its answer', async () => {
    const gateway = await listeningGatewayFor({ services: [{ name: 'users', prefix: '/users', upstreams: [upstream.url] }] })
    try {
      const outcome = await connectWebSocket(`${gateway.url.replace(/^http/, 'ws')}/users/live`)
      expect(outcome).toEqual({ opened: false, status: 426 })
      expect(upstream.handshakes).toHaveLength(0)
      expect(upstream.plainRequests).toContain('/live')
    } finally {
      await gateway.close()
    }
  })

  it('are refused with a problem when another service of the gateway accepts WebSockets', async () => {
    const { gateway, sockets } = await trackedGateway({
      services: [
        { name: 'chat', prefix: '/chat', upstreams: [upstream.url], websocket: true },
        { name: 'users', prefix: '/users', upstreams: [upstream.url] }
      ]
    })
    const handshakesBefore = upstream.handshakes.length
    try {
      const outcome = await connectWebSocket(`${gateway.url.replace(/^http/, 'ws')}/users/live`)
      expect(outcome.opened ? undefined : outcome.error).toBeUndefined()
      expect(outcome).toMatchObject({ opened: false, status: expect.any(Number) })
      if (!outcome.opened) expect(outcome.status).toBeGreaterThanOrEqual(400)
      expect(upstream.handshakes).toHaveLength(handshakesBefore)
    } finally {
      // A hijacked upgrade nobody answers is never closed by the server and would hang gateway.close().
      for (const socket of sockets) socket.destroy()
      await gateway.close()
    }
  })
})
