/**
 * Running a gateway: listen (HTTP, or HTTPS with its certificate reload and HTTP → HTTPS redirect
 * listener), log where and what is routed, and shut down gracefully — stop accepting, let in-flight
 * requests finish up to the drain timeout, close the upstream pools.
 */
import { once } from 'node:events'
import type { Server } from 'node:http'
import type { ServerHttp2Session } from 'node:http2'
import type { AddressInfo, Socket } from 'node:net'
import type { Server as TlsServer, TLSSocket } from 'node:tls'
import type { FastifyInstance } from 'fastify'
import type { GatewayConfig, ListenerTlsSettings } from './config/types.js'
import type { GatewayOptions } from './gateway.js'
import { ReloadableGateway, type ReloadResult, type ReloadTrigger } from './reload/reloadable.js'
import { routingTable } from './routing-table.js'
import { createRedirectListener } from './tls/redirect.js'
import { watchCertificates, type CertificateReloader } from './tls/reload.js'

export interface ListenOverrides {
  readonly host?: string
  readonly port?: number
}

export interface RunningGateway {
  /** The gateway instance serving now (a reload switches in another one). */
  readonly app: FastifyInstance
  /** The listener: it stays open across reloads. */
  readonly server: Server
  /** Base URL the gateway answers on, e.g. http://127.0.0.1:8080 or https://127.0.0.1:8443 */
  readonly url: string
  /** Base URL of the HTTP → HTTPS redirect listener, or null when there is none. */
  readonly redirectUrl: string | null
  /** Certificate reload (file watch and SIGHUP), or null without TLS. */
  readonly certificates: CertificateReloader | null
  /**
   * Zero-downtime reload: with no argument, services.json is read again from where the running
   * configuration came from. A refused reload leaves the running configuration serving.
   */
  reload (next?: GatewayConfig, trigger?: ReloadTrigger): Promise<ReloadResult>
  /** Drains and closes; safe to call more than once. */
  close (): Promise<void>
}

export async function startGateway (config: GatewayConfig, overrides: ListenOverrides = {}, options: GatewayOptions = {}): Promise<RunningGateway> {
  const gateway = await ReloadableGateway.start(config, options)
  const server = gateway.door.listener
  const sockets = trackSockets(server)
  const sessions = trackHttp2Sessions(server)
  const host = overrides.host ?? config.listen.host
  const port = overrides.port ?? config.listen.port
  let address: AddressInfo
  try {
    address = await listen(server, host, port)
  } catch (error) {
    await gateway.close()
    throw error
  }
  const url = urlOf(address, config.tls === null ? 'http' : 'https')
  gateway.log.info(`Server listening at ${url}`)
  const { redirect, certificates } = config.tls === null
    ? { redirect: null, certificates: null }
    : await startTlsCompanions(gateway, config, config.tls, host, address.port)
  const redirectUrl = redirect === null ? null : urlOf(redirect.address() as AddressInfo, 'http')
  gateway.log.info({ url, ...(redirectUrl === null ? {} : { redirectUrl }), services: config.services.length }, `routing table:\n${routingTable(config)}`)
  let closing: Promise<void> | undefined
  return {
    get app () { return gateway.door.current.app },
    server,
    url,
    redirectUrl,
    certificates,
    reload: async (next, trigger = 'call') => next === undefined ? await gateway.reloadFile(trigger) : await gateway.reload(next, trigger),
    close: () => (closing ??= (async () => {
      certificates?.close()
      await drainAndClose(gateway, { server, sockets, sessions, redirect }, gateway.drainTimeout)
    })())
  }
}

async function listen (server: Server, host: string, port: number): Promise<AddressInfo> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return server.address() as AddressInfo
}

/**
 * What an HTTPS listener comes with: handshake failures in the debug log, certificate reload, and the
 * HTTP → HTTPS redirect listener when configured (on the HTTPS listener's interface unless it names its own).
 */
async function startTlsCompanions (gateway: ReloadableGateway, config: GatewayConfig, tls: ListenerTlsSettings, host: string, httpsPort: number):
Promise<{ redirect: Server | null, certificates: CertificateReloader }> {
  const server = gateway.door.listener
  server.on('tlsClientError', (error: Error, socket: TLSSocket) =>
    gateway.log.debug({ remoteAddress: socket.remoteAddress, reason: error.message }, 'tls: handshake failed'))
  const certificates = watchCertificates(server as unknown as TlsServer, tls, gateway.log)
  if (tls.redirectHttp === null) return { redirect: null, certificates }
  // The redirect listener asks the current instance's router which paths exist, after a reload too.
  const redirect = createRedirectListener(config, { httpsPort, gateway: (request, response) => gateway.door.current.app.routing(request, response) })
  try {
    redirect.listen(tls.redirectHttp.port, tls.redirectHttp.host ?? host)
    await once(redirect, 'listening')
  } catch (error) {
    certificates.close()
    server.close()
    await gateway.close()
    throw error
  }
  return { redirect, certificates }
}

/** Open HTTP/2 sessions (none on an HTTP/1 listener), closed with GOAWAY when the drain starts. */
function trackHttp2Sessions (server: Server): Set<ServerHttp2Session> {
  const sessions = new Set<ServerHttp2Session>()
  server.on('session', (session: ServerHttp2Session) => {
    sessions.add(session)
    session.once('close', () => sessions.delete(session))
  })
  return sessions
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

interface OpenConnections {
  readonly server: Server
  readonly sockets: ReadonlySet<Socket>
  readonly sessions: ReadonlySet<ServerHttp2Session>
  readonly redirect: Server | null
}

async function drainAndClose (gateway: ReloadableGateway, open: OpenConnections, drainMs: number): Promise<void> {
  const { app } = gateway.door.current
  gateway.startDraining()
  app.log.info({ drainMs }, 'draining: no new connections, waiting for in-flight requests')
  const { server, sockets, sessions, redirect } = open
  // Stops accepting now; resolves once every connection has closed. A listener a cluster worker closed
  // already still reports its last connection closing.
  const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()))
  // The redirect listener only answers at once: stop it accepting now, and cut what is left at the end.
  const redirectClosed = redirect === null ? undefined : new Promise<void>((resolve) => redirect.close(() => resolve()))
  // GOAWAY: an HTTP/2 client opens no new streams on the session; the streams in flight finish.
  for (const session of sessions) session.close()
  // Past the drain timeout, connections still open are cut so shutdown always ends.
  const deadline = setTimeout(() => {
    app.log.warn({ open: sockets.size }, 'drain timeout reached: closing remaining connections')
    // An HTTP/2 server has no closeAllConnections (Node 20); destroying every socket covers it.
    if (typeof server.closeAllConnections === 'function') server.closeAllConnections()
    for (const socket of sockets) socket.destroy()
  }, drainMs)
  deadline.unref()
  // Keep-alive connections whose last request just finished are idle: close them as they appear.
  const sweeper = setInterval(() => {
    server.closeIdleConnections()
    redirect?.closeIdleConnections()
  }, 50)
  sweeper.unref()
  try {
    await serverClosed
    await gateway.close()
  } finally {
    clearTimeout(deadline)
    clearInterval(sweeper)
    redirect?.closeAllConnections()
    await redirectClosed
  }
  app.log.info('gateway stopped')
}

function urlOf (address: AddressInfo, scheme: 'http' | 'https'): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return `${scheme}://${host}:${address.port}`
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
