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
import { buildGateway, type GatewayOptions } from './gateway.js'
import { routingTable } from './routing-table.js'
import { createRedirectListener } from './tls/redirect.js'
import { watchCertificates, type CertificateReloader } from './tls/reload.js'

export interface ListenOverrides {
  readonly host?: string
  readonly port?: number
}

export interface RunningGateway {
  readonly app: FastifyInstance
  /** Base URL the gateway answers on, e.g. http://127.0.0.1:8080 or https://127.0.0.1:8443 */
  readonly url: string
  /** Base URL of the HTTP → HTTPS redirect listener, or null when there is none. */
  readonly redirectUrl: string | null
  /** Certificate reload (file watch and SIGHUP), or null without TLS. */
  readonly certificates: CertificateReloader | null
  /** Drains and closes; safe to call more than once. */
  close (): Promise<void>
}

export async function startGateway (config: GatewayConfig, overrides: ListenOverrides = {}, options: GatewayOptions = {}): Promise<RunningGateway> {
  const app = buildGateway(config, options)
  const sockets = trackSockets(app.server)
  const sessions = trackHttp2Sessions(app.server)
  const host = overrides.host ?? config.listen.host
  const port = overrides.port ?? config.listen.port
  // Fastify writes http:// for a server it did not create with its own `https` option.
  await app.listen({ host, port, ...(config.tls === null ? {} : { listenTextResolver: (address: string) => `Server listening at ${address.replace(/^http:/, 'https:')}` }) })
  const address = app.server.address() as AddressInfo
  const url = urlOf(address, config.tls === null ? 'http' : 'https')
  const { redirect, certificates } = config.tls === null
    ? { redirect: null, certificates: null }
    : await startTlsCompanions(app, config, config.tls, host, address.port)
  const redirectUrl = redirect === null ? null : urlOf(redirect.address() as AddressInfo, 'http')
  app.log.info({ url, ...(redirectUrl === null ? {} : { redirectUrl }), services: config.services.length }, `routing table:\n${routingTable(config)}`)
  let closing: Promise<void> | undefined
  return {
    app,
    url,
    redirectUrl,
    certificates,
    close: () => (closing ??= (async () => {
      certificates?.close()
      await drainAndClose(app, { sockets, sessions, redirect }, config.timeouts.drain)
    })())
  }
}

/**
 * What an HTTPS listener comes with: handshake failures in the debug log, certificate reload, and the
 * HTTP → HTTPS redirect listener when configured (on the HTTPS listener's interface unless it names its own).
 */
async function startTlsCompanions (app: FastifyInstance, config: GatewayConfig, tls: ListenerTlsSettings, host: string, httpsPort: number):
Promise<{ redirect: Server | null, certificates: CertificateReloader }> {
  app.server.on('tlsClientError', (error: Error, socket: TLSSocket) =>
    app.log.debug({ remoteAddress: socket.remoteAddress, reason: error.message }, 'tls: handshake failed'))
  const certificates = watchCertificates(app.server as unknown as TlsServer, tls, app.log)
  if (tls.redirectHttp === null) return { redirect: null, certificates }
  const redirect = createRedirectListener(config, { httpsPort, gateway: app.routing })
  try {
    redirect.listen(tls.redirectHttp.port, tls.redirectHttp.host ?? host)
    await once(redirect, 'listening')
  } catch (error) {
    certificates.close()
    await app.close()
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
  readonly sockets: ReadonlySet<Socket>
  readonly sessions: ReadonlySet<ServerHttp2Session>
  readonly redirect: Server | null
}

async function drainAndClose (app: FastifyInstance, open: OpenConnections, drainMs: number): Promise<void> {
  app.gatehouse.draining = true
  app.log.info({ drainMs }, 'draining: no new connections, waiting for in-flight requests')
  const { sockets, sessions, redirect } = open
  // The redirect listener only answers at once: stop it accepting now, and cut what is left at the end.
  const redirectClosed = redirect === null ? undefined : new Promise<void>((resolve) => redirect.close(() => resolve()))
  // GOAWAY: an HTTP/2 client opens no new streams on the session; the streams in flight finish.
  for (const session of sessions) session.close()
  // Past the drain timeout, connections still open are cut so shutdown always ends.
  const deadline = setTimeout(() => {
    app.log.warn({ open: sockets.size }, 'drain timeout reached: closing remaining connections')
    // An HTTP/2 server has no closeAllConnections (Node 20); destroying every socket covers it.
    if (typeof app.server.closeAllConnections === 'function') app.server.closeAllConnections()
    for (const socket of sockets) socket.destroy()
  }, drainMs)
  deadline.unref()
  // Keep-alive connections whose last request just finished are idle: close them as they appear.
  const sweeper = setInterval(() => {
    app.server.closeIdleConnections()
    redirect?.closeIdleConnections()
  }, 50)
  sweeper.unref()
  try {
    await app.close()
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
