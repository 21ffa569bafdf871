/**
 * The HTTPS listener: node:https, or node:http2 with HTTP/1.1 fallback (ALPN) when `http2` is on. Node's
 * default cipher list is kept (it is the modern one; narrowing it is a job for the Node release, not for
 * us), the server's cipher order wins, and TLS 1.2 is the floor. The head-size, head-timeout and keep-alive
 * limits of the plain listener apply to both, including the HTTP/1.1 connections of the HTTP/2 server.
 */
import type { RequestListener, Server } from 'node:http'
import { createSecureServer, type Http2ServerRequest, type Http2ServerResponse, type ServerHttp2Session } from 'node:http2'
import { createServer } from 'node:https'
import type { SecureContextOptions } from 'node:tls'
import type { GatewayConfig, ListenerTlsSettings } from '../config/types.js'
import type { KeyPair } from './key-pair.js'

/** Everything the secure context is made of: used at creation and again by every reload (setSecureContext). */
export function secureContextOptions (tls: ListenerTlsSettings, pair: KeyPair): SecureContextOptions {
  return { cert: pair.cert, key: pair.key, minVersion: tls.minVersion, honorCipherOrder: true }
}

/**
 * The TLS listener for Fastify's serverFactory. It is typed as node:http's Server because that is what the
 * gateway's Fastify instance is declared with; Fastify's handler, the socket tracking and the drain in
 * server.ts only use what https.Server and Http2SecureServer share with it (or check first).
 */
export function createTlsListener (config: GatewayConfig, tls: ListenerTlsSettings, handler: RequestListener): Server {
  const secure = {
    ...secureContextOptions(tls, tls),
    // A client that never finishes its handshake is cut as early as one that never finishes its head.
    handshakeTimeout: config.timeouts.requestHeaders
  }
  const limits = {
    maxHeaderSize: config.limits.headerBytes,
    headersTimeout: config.timeouts.requestHeaders,
    keepAliveTimeout: config.timeouts.keepAlive
  }
  if (!tls.http2) {
    const server = createServer({ ...secure, ...limits, ALPNProtocols: ['http/1.1'] }, handler)
    server.keepAliveTimeout = limits.keepAliveTimeout
    return server as unknown as Server
  }
  const server = createSecureServer({
    ...secure,
    allowHTTP1: true,
    settings: { maxHeaderListSize: config.limits.headerBytes }
  // Fastify's handler takes HTTP/2 compatibility requests as well as HTTP/1 ones.
  }, handler as unknown as (request: Http2ServerRequest, response: Http2ServerResponse) => void)
  // HTTP/1.1 connections of an HTTP/2 server go through node:http's connection handling, which reads
  // these from the server object (createSecureServer does not take them as options).
  Object.assign(server, limits)
  // An idle HTTP/2 connection is closed (GOAWAY) after the same time as an idle keep-alive one.
  server.on('session', (session: ServerHttp2Session) => {
    session.setTimeout(limits.keepAliveTimeout, () => session.close())
  })
  return server as unknown as Server
}

/** One line for the routing table and the start-up log. */
export function describeListener (tls: ListenerTlsSettings): string {
  const parts = [tls.http2 ? 'HTTPS with HTTP/2 and HTTP/1.1' : 'HTTPS', `${tls.minVersion} or newer`]
  if (tls.redirectHttp !== null) parts.push(`HTTP on port ${tls.redirectHttp.port} redirects (308)`)
  if (tls.hsts !== null) parts.push('HSTS')
  if (tls.reload) parts.push('certificate reloaded on change')
  return parts.join(', ')
}
