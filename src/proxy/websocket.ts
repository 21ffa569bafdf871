/**
 * WebSocket proxying options for @fastify/http-proxy: the same forwarding headers, upstream TLS settings and
 * connect timeout as plain HTTP, and close frames that never carry an internal error message.
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { FastifyReply, FastifyRequest } from 'fastify'
import WebSocket from 'ws'
import type { ResolvedService } from '../config/types.js'
import { WebSocketDisabledError } from '../errors.js'
import { forwardRequestHeaders, type ForwardingContext } from './headers.js'

// RFC 6455 §5.5: a close frame's reason fits in 123 bytes.
const MAX_CLOSE_REASON_BYTES = 123
const INTERNAL_ERROR = 1011

/**
 * The client-side socket class of the WebSocket server. @fastify/http-proxy closes the client with code
 * 1011 and the upstream error's message as the reason ("connect ECONNREFUSED 10.0.0.5:3001"): that would
 * leak the upstream's address, and a reason over 123 bytes makes `ws` throw from inside an error handler.
 * Reasons of 1011 closes are dropped; other reasons (from the upstream application) are kept if they fit.
 */
export class ClientWebSocket extends WebSocket {
  override close (code?: number, reason?: string | Buffer): void {
    const keep = code !== INTERNAL_ERROR && reason !== undefined && Buffer.byteLength(reason) <= MAX_CLOSE_REASON_BYTES
    super.close(code, keep ? reason : undefined)
  }
}

// Headers the WebSocket client sets itself for the upstream handshake.
const WEBSOCKET_OWN_HEADERS = ['host', 'upgrade', 'connection', 'sec-websocket-key', 'sec-websocket-version',
  'sec-websocket-extensions', 'sec-websocket-protocol', 'content-length']

function forwardWebSocketHeaders (request: FastifyRequest, forwarding: ForwardingContext): IncomingHttpHeaders {
  // Forwarding reads `connection` to drop the client's hop-by-hop headers; then drop what ws sets itself.
  const headers = forwardRequestHeaders(request, request.headers, forwarding)
  for (const name of WEBSOCKET_OWN_HEADERS) delete headers[name]
  return headers
}

/** `wsServerOptions` and `wsClientOptions` for a service's proxy. */
export function webSocketOptions (service: ResolvedService, forwarding: ForwardingContext): { wsServerOptions: object, wsClientOptions: object } {
  return {
    wsServerOptions: { WebSocket: ClientWebSocket },
    wsClientOptions: {
      rewriteRequestHeaders: (_headers: IncomingHttpHeaders, request: FastifyRequest) => forwardWebSocketHeaders(request, forwarding),
      handshakeTimeout: service.timeouts.connect,
      rejectUnauthorized: service.tls.verify,
      ...(service.tls.ca === undefined ? {} : { ca: service.tls.ca }),
      ...(service.tls.servername === undefined ? {} : { servername: service.tls.servername }),
      ...(service.tls.clientCertificate === undefined ? {} : { cert: service.tls.clientCertificate.cert, key: service.tls.clientCertificate.key })
    }
  }
}

/**
 * @fastify/http-proxy's shared 'upgrade' listener routes every upgrade through the router; a service without
 * WebSockets would hijack the socket and never answer (and the socket would then block shutdown).
 */
export function refuseUpgrade (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void): void {
  // Node sets `upgrade` on requests it hands to an 'upgrade' listener.
  if ((request.raw as { upgrade?: boolean }).upgrade === true) {
    reply.header('connection', 'close')
    done(new WebSocketDisabledError())
    return
  }
  done()
}
