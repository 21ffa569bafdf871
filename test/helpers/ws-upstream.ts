/**
 * A WebSocket echo upstream on a Node HTTP server (port 0) that records every handshake it accepts.
 * Plain HTTP requests get a 426, so a gateway that forgets the upgrade is easy to tell apart.
 */
import { once } from 'node:events'
import { createServer, type IncomingHttpHeaders, type IncomingMessage } from 'node:http'
import { WebSocketServer } from 'ws'
import { listenOnLoopback } from './listen.js'

export interface RecordedHandshake {
  readonly url: string
  readonly headers: IncomingHttpHeaders
}

export interface WebSocketUpstream {
  /** http:// origin, as services.json wants it. */
  readonly url: string
  readonly handshakes: RecordedHandshake[]
  /** Plain (non-upgrade) requests that reached the server. */
  readonly plainRequests: string[]
  /** Resolves with the next handshake the upstream accepts (call it before the client connects). */
  nextHandshake (): Promise<RecordedHandshake>
  close (): Promise<void>
}

export async function startWebSocketUpstream (): Promise<WebSocketUpstream> {
  const handshakes: RecordedHandshake[] = []
  const plainRequests: string[] = []
  const server = createServer((request, response) => {
    plainRequests.push(request.url ?? '')
    response.writeHead(426, { 'content-type': 'text/plain', connection: 'close' })
    response.end('upgrade required')
  })
  const wss = new WebSocketServer({ server })
  wss.on('connection', (socket, request) => {
    handshakes.push({ url: request.url ?? '', headers: request.headers })
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }))
  })
  const port = await listenOnLoopback(server)
  return {
    url: `http://127.0.0.1:${port}`,
    handshakes,
    plainRequests,
    nextHandshake: async () => {
      const [, request] = await once(wss, 'connection') as [unknown, IncomingMessage]
      return { url: request.url ?? '', headers: request.headers }
    },
    close: async () => {
      for (const client of wss.clients) client.terminate()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
