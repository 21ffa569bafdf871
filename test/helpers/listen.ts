/** What every test server shares: listen on 127.0.0.1 port 0, track open sockets, close them all. */
import { once } from 'node:events'
import type { AddressInfo, Server, Socket } from 'node:net'

/** The set of sockets currently open on `server`, kept up to date. */
export function trackSockets (server: Server, connectionEvent = 'connection'): Set<Socket> {
  const sockets = new Set<Socket>()
  server.on(connectionEvent, (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  return sockets
}

/** Listens on an ephemeral loopback port and resolves with it. */
export async function listenOnLoopback (server: Server): Promise<number> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return (server.address() as AddressInfo).port
}

/** Destroys the open sockets and waits for the server to close. */
export async function closeServer (server: Server, sockets: Iterable<Socket>): Promise<void> {
  for (const socket of sockets) socket.destroy()
  await new Promise<void>((resolve) => server.close(() => resolve()))
}
