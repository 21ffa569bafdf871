/**
 * Running a gateway: listen, log where and what is routed, and shut down gracefully — stop accepting,
 * let in-flight requests finish up to the drain timeout, close the upstream pools.
 */
import type { Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'
import type { GatewayConfig } from './config/types.js'
import { buildGateway, type GatewayOptions } from './gateway.js'
import { routingTable } from './routing-table.js'

export interface ListenOverrides {
  readonly host?: string
  readonly port?: number
}

export interface RunningGateway {
  readonly app: FastifyInstance
  /** Base URL the gateway answers on, e.g. http://127.0.0.1:8080 */
  readonly url: string
  /** Drains and closes; safe to call more than once. */
  close (): Promise<void>
}

export async function startGateway (config: GatewayConfig, overrides: ListenOverrides = {}, options: GatewayOptions = {}): Promise<RunningGateway> {
  const app = buildGateway(config, options)
  const sockets = trackSockets(app.server)
  const host = overrides.host ?? config.listen.host
  const port = overrides.port ?? config.listen.port
  await app.listen({ host, port })
  const url = urlOf(app.server.address() as AddressInfo)
  app.log.info({ url, services: config.services.length }, `routing table:\n${routingTable(config)}`)
  let closing: Promise<void> | undefined
  return {
    app,
    url,
    close: () => (closing ??= drainAndClose(app, sockets, config.timeouts.drain))
  }
}

/**
 * Every socket of the listener. `closeAllConnections()` only knows HTTP connections: a WebSocket's socket
 * leaves the HTTP server at the upgrade, and a client that never answers the close handshake would hold
 * shutdown for ws's 30 s close timeout per client.
 */
function trackSockets (server: Server): Set<Socket> {
  const sockets = new Set<Socket>()
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  return sockets
}

async function drainAndClose (app: FastifyInstance, sockets: ReadonlySet<Socket>, drainMs: number): Promise<void> {
  app.gatehouse.draining = true
  app.log.info({ drainMs }, 'draining: no new connections, waiting for in-flight requests')
  // Past the drain timeout, connections still open are cut so shutdown always ends.
  const deadline = setTimeout(() => {
    app.log.warn({ open: sockets.size }, 'drain timeout reached: closing remaining connections')
    app.server.closeAllConnections()
    for (const socket of sockets) socket.destroy()
  }, drainMs)
  deadline.unref()
  // Keep-alive connections whose last request just finished are idle: close them as they appear.
  const sweeper = setInterval(() => app.server.closeIdleConnections(), 50)
  sweeper.unref()
  try {
    await app.close()
  } finally {
    clearTimeout(deadline)
    clearInterval(sweeper)
  }
  app.log.info('gateway stopped')
}

function urlOf (address: AddressInfo): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return `http://${host}:${address.port}`
}

/** Resolves with the signal's name once SIGTERM or SIGINT arrives. */
export function shutdownSignal (): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGTERM', onSignal)
      process.off('SIGINT', onSignal)
      resolve(signal)
    }
    process.on('SIGTERM', onSignal)
    process.on('SIGINT', onSignal)
  })
}
