/** A WebSocket handshake from a real client (ws), reduced to its outcome: 101 when it opened, else the status. */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import WebSocket from 'ws'

export interface HandshakeAnswer {
  /** 101 when the socket opened (it is closed again at once), the refusal's status, or 0 when no answer came. */
  readonly status: number
  readonly headers: IncomingHttpHeaders
}

export async function handshake (url: string, headers: Record<string, string> = {}): Promise<HandshakeAnswer> {
  const socket = new WebSocket(url, { headers, handshakeTimeout: 3_000 })
  return new Promise((resolve) => {
    socket.once('upgrade', (response: IncomingMessage) => {
      socket.once('open', () => socket.close())
      resolve({ status: 101, headers: response.headers })
    })
    socket.once('unexpected-response', (request, response: IncomingMessage) => {
      response.resume()
      request.destroy()
      resolve({ status: response.statusCode ?? 0, headers: response.headers })
    })
    socket.once('error', () => resolve({ status: 0, headers: {} }))
  })
}
