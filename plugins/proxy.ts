/**
 * The proxy of one service, on @fastify/http-proxy: prefix routing on a segment boundary, prefix rewrite,
 * forwarding headers, round-robin over replicas, keep-alive pools, timeouts, bounded retries for
 * idempotent requests, and upstream faults as 502/503/504 problems. Registered inside the service's scope,
 * after its policies, so their hooks run before the proxy handler.
 */
import httpProxy, { type FastifyHttpProxyOptions } from '@fastify/http-proxy'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { IncomingHttpHeaders } from 'node:http'
import type { ResolvedService } from '../src/config/types.js'
import { NoUpstreamError, WebSocketDisabledError } from '../src/errors.js'
import { sendProblem } from '../src/http/problem.js'
import { filterResponseHeaders, forwardRequestHeaders, type ForwardingContext, type PeerTrust } from '../src/proxy/headers.js'
import { ClientAwareDispatcher, carryClientSignal, proxyWatchingClient } from '../src/upstream/client-abort.js'
import { createUpstreamDispatcher } from '../src/upstream/dispatcher.js'
import { connectionErrorCode, upstreamFault } from '../src/upstream/faults.js'
import { UpstreamPool } from '../src/upstream/pool.js'
import { kUpstream } from '../src/symbols.js'

export interface ProxyOptions {
  readonly service: ResolvedService
  readonly isTrustedPeer: PeerTrust
  /** Another service accepts WebSockets, so upgrade requests reach every service's routes. */
  readonly upgradesReachRoutes: boolean
}

// Only requests without a body can be sent again: a streamed body is consumed by the first attempt.
const RETRYABLE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS'])

export async function serviceProxy (scope: FastifyInstance, { service, isTrustedPeer, upgradesReachRoutes }: ProxyOptions): Promise<void> {
  // @fastify/http-proxy's shared 'upgrade' listener routes every upgrade; a service without WebSockets
  // would hijack the socket and never answer (and the socket would then block shutdown).
  if (upgradesReachRoutes && !service.websocket) scope.addHook('onRequest', refuseUpgrade)
  if (service.upstreams.length === 0) {
    registerNoUpstreamRoutes(scope)
    return
  }
  const dispatcher = new ClientAwareDispatcher(createUpstreamDispatcher(service))
  scope.addHook('onClose', async () => { await dispatcher.close() })

  const pool = new UpstreamPool(service.upstreams)
  const single = pool.size === 1 ? pool.pick() : null
  const forwarding: ForwardingContext = { prefix: service.prefix, isTrustedPeer }

  function rewriteRequestHeaders (request: FastifyRequest, headers: IncomingHttpHeaders): IncomingHttpHeaders {
    request[kUpstream] ??= single
    return carryClientSignal(request, forwardRequestHeaders(request, headers, forwarding))
  }

  function pickUpstream (request: FastifyRequest): string {
    const upstream = pool.pick()
    request[kUpstream] = upstream
    return upstream
  }

  function onUpstreamError (reply: FastifyReply, { error }: { error: Error }): void {
    // The client left and its departure aborted the upstream request: nobody to answer, nothing failed upstream.
    if (reply.raw.destroyed) return
    const fault = upstreamFault(error)
    // @fastify/reply-from has already logged the error itself; add what it became.
    reply.request.log.warn({ upstream: reply.request[kUpstream], code: fault.code }, 'upstream request failed')
    // Part of the request body is still unread: the connection cannot carry another request.
    if (!reply.request.raw.complete) reply.header('connection', 'close')
    sendProblem(reply, fault)
  }

  function retryDelay ({ err, req, attempt }: { err: Error | null, req: { method: string }, attempt: number }): number | null {
    // Returning null also replaces reply-from's default of retrying GET 503s up to 10 times (design.md §4).
    if (attempt >= service.retryAttempts || !RETRYABLE_METHODS.has(req.method) || connectionErrorCode(err) === undefined) return null
    return Math.min(50 * 2 ** attempt, 1000) * (0.5 + Math.random() / 2)
  }

  await scope.register(httpProxy, {
    upstream: single ?? '',
    rewritePrefix: service.rewritePrefix,
    websocket: service.websocket,
    undici: dispatcher,
    handler: proxyWatchingClient,
    disableRequestLogging: true,
    replyOptions: {
      rewriteRequestHeaders,
      rewriteHeaders: filterResponseHeaders,
      onError: onUpstreamError,
      retryDelay,
      ...(single === null ? { getUpstream: pickUpstream } : {})
    },
    wsClientOptions: {
      rewriteRequestHeaders: (_headers: Record<string, string>, request: FastifyRequest) =>
        forwardWebSocketHeaders(request, forwarding)
    }
  } as FastifyHttpProxyOptions)
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

function refuseUpgrade (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void): void {
  // Node sets `upgrade` on requests it hands to an 'upgrade' listener.
  if ((request.raw as { upgrade?: boolean }).upgrade === true) {
    reply.header('connection', 'close')
    done(new WebSocketDisabledError())
    return
  }
  done()
}

/** A service with no replicas configured answers 503 instead of disappearing from the routing table. */
function registerNoUpstreamRoutes (scope: FastifyInstance): void {
  const answer = (_request: FastifyRequest, reply: FastifyReply): FastifyReply => sendProblem(reply, new NoUpstreamError())
  scope.all('/', answer)
  scope.all('/*', answer)
}
