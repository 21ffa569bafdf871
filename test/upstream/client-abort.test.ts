import { once } from 'node:events'
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { RunningGateway } from '../../src/server.js'
import { listeningGatewayFor, oneService } from '../helpers/gateway.js'
import { echoHandler, startUpstream, type TestUpstream } from '../helpers/upstream.js'

// Far below the service's default timeouts (30 s for headers, 60 s idle): a socket closed within this
// was closed because the client left, not because a timeout fired.
const RELEASE_WITHIN_MS = 3_000
const CHUNK_EVERY_MS = 50

/** Upstream-side sockets of requests that reached the upstream, in arrival order. */
interface Arrivals {
  next (): Promise<Socket>
}

function arrivals (): Arrivals & { push (socket: Socket): void } {
  const waiting: Array<(socket: Socket) => void> = []
  const arrived: Socket[] = []
  return {
    push (socket) {
      const resolve = waiting.shift()
      if (resolve) resolve(socket)
      else arrived.push(socket)
    },
    next () {
      const socket = arrived.shift()
      return socket ? Promise.resolve(socket) : new Promise((resolve) => waiting.push(resolve))
    }
  }
}

/** Resolves once `socket` has closed; rejects if that takes longer than RELEASE_WITHIN_MS. */
async function closed (socket: Socket): Promise<void> {
  if (socket.closed) return
  try {
    await once(socket, 'close', { signal: AbortSignal.timeout(RELEASE_WITHIN_MS) })
  } catch {
    throw new Error(`the upstream socket was still open ${RELEASE_WITHIN_MS} ms after the client went away`)
  }
}

function get (url: string): ClientRequest {
  const request = httpRequest(url, { agent: false })
  // The test destroys the request on purpose.
  request.on('error', () => {})
  request.end()
  return request
}

describe('a client that goes away', () => {
  let upstream: TestUpstream
  let gateway: RunningGateway
  let reached: ReturnType<typeof arrivals>

  beforeEach(async () => {
    reached = arrivals()
    upstream = await startUpstream((request, response, body) => {
      reached.push(request.socket)
      if (request.url === '/slow-stream') {
        response.writeHead(200, { 'content-type': 'text/plain' })
        const ticker = setInterval(() => response.write('tick\n'), CHUNK_EVERY_MS)
        response.on('close', () => clearInterval(ticker))
      } else if (request.url === '/slow-headers') {
        // Never answers: only the gateway giving up (or a timeout) ends this exchange.
      } else {
        echoHandler(request, response, body)
      }
    })
    gateway = await listeningGatewayFor(oneService([upstream.url]))
  })

  afterEach(async () => {
    // Upstream first: a leaked upstream request would otherwise hold the gateway's pool open on close.
    await upstream.close()
    await gateway.close()
  })

  it('closes the upstream connection when the client aborts mid-response', async () => {
    const client = get(`${gateway.url}/users/slow-stream`)
    const [response] = await once(client, 'response') as [IncomingMessage]
    expect(response.statusCode).toBe(200)
    await once(response, 'data')
    const upstreamSocket = await reached.next()
    client.destroy()

    await closed(upstreamSocket)
    expect(upstream.openSockets()).toBe(0)
  })

  it('closes the upstream connection when the client aborts while waiting for headers', async () => {
    const client = get(`${gateway.url}/users/slow-headers`)
    const upstreamSocket = await reached.next()
    client.destroy()

    await closed(upstreamSocket)
    expect(upstream.openSockets()).toBe(0)
  })

  it('keeps serving other clients after both kinds of abort', async () => {
    for (const path of ['/users/slow-stream', '/users/slow-headers']) {
      const client = get(`${gateway.url}${path}`)
      await reached.next()
      client.destroy()
    }
    const client = get(`${gateway.url}/users/fine`)
    const [response] = await once(client, 'response') as [IncomingMessage]
    expect(response.statusCode).toBe(200)
    response.resume()
    await once(response, 'end')
  })
})
