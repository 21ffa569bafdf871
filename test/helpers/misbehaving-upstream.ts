/**
 * Upstreams that break the HTTP contract on purpose, made with node:net so the gateway meets the faults it
 * sees in production: a refused port, a connection closed or reset before any byte, bytes that are not
 * HTTP, a request that is never answered.
 */
import { once } from 'node:events'
import { createServer, type Socket } from 'node:net'
import { closeServer, listenOnLoopback, trackSockets } from './listen.js'

/** What a raw upstream does with each accepted connection. */
export type ConnectionBehaviour = (socket: Socket) => void

export interface RawUpstream {
  readonly url: string
  readonly port: number
  /** Connections accepted so far. */
  connections (): number
  /** Sockets currently open to this upstream. */
  openSockets (): number
  close (): Promise<void>
}

/** Closes the connection (FIN) as soon as it is accepted, before reading or writing a byte. */
export const closeOnConnect: ConnectionBehaviour = (socket) => { socket.destroy() }

/** Resets the connection (RST) as soon as it is accepted. */
export const resetOnConnect: ConnectionBehaviour = (socket) => { socket.resetAndDestroy() }

/** Answers the request with bytes that are not an HTTP response, then closes. */
export const answerGarbage: ConnectionBehaviour = (socket) => {
  socket.once('data', () => socket.end('SSH-2.0-OpenSSH_9.6\r\nthis is not http\r\n\r\n'))
}

/** Reads the request and never answers (not even the status line). */
export const neverAnswer: ConnectionBehaviour = (socket) => { socket.resume() }

export async function startRawUpstream (behaviour: ConnectionBehaviour): Promise<RawUpstream> {
  let accepted = 0
  const server = createServer((socket) => {
    accepted++
    // A peer that resets us while we ignore it is expected here, not a test failure.
    socket.on('error', () => {})
    behaviour(socket)
  })
  const sockets = trackSockets(server)
  const port = await listenOnLoopback(server)
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    connections: () => accepted,
    openSockets: () => sockets.size,
    close: () => closeServer(server, sockets)
  }
}

/** A port that was just bound and released: connecting to it is refused (ECONNREFUSED). */
export async function closedPort (): Promise<number> {
  const server = createServer()
  const port = await listenOnLoopback(server)
  server.close()
  await once(server, 'close')
  return port
}
