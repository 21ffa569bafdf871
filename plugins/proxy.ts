/**
 * The proxy of one service, on @fastify/http-proxy: prefix routing on a segment boundary, prefix rewrite,
 * forwarding headers, round-robin over replicas, keep-alive pools, timeouts, bounded retries for
 * idempotent requests, and upstream faults as 502/503/504 problems. Registered inside the service's scope,
 * after its policies, so their hooks run before the proxy handler.
 */
import httpProxy, { type FastifyHttpProxyOptions } from '@fastify/http-proxy'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { IncomingHttpHeaders } from 'node:http'
import type { Readable } from 'node:stream'
import { REQUEST_ID_HEADER } from '../src/http/request-id.js'
import type { ResolvedService } from '../src/config/types.js'
import { NoUpstreamError } from '../src/errors.js'
import { sendProblem } from '../src/http/problem.js'
import { filterResponseHeaders, forwardRequestHeaders, type ForwardingContext, type PeerTrust } from '../src/proxy/headers.js'
import { refuseUpgrade, webSocketOptions } from '../src/proxy/websocket.js'
import { ClientAwareDispatcher, carryClientSignal, proxyWatchingClient } from '../src/upstream/client-abort.js'
import { createUpstreamDispatcher } from '../src/upstream/dispatcher.js'
import { isConnectFailure, retryableConnectionCode, upstreamFault } from '../src/upstream/faults.js'
import { UpstreamPool } from '../src/upstream/pool.js'
import { kUpstream } from '../src/symbols.js'

export interface ProxyOptions {
  readonly service: ResolvedService
  readonly isTrustedPeer: PeerTrust
  /** Another service accepts WebSockets, so upgrade requests reach every service's routes. */
  readonly upgradesReachRoutes: boolean
}

const RETRYABLE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS'])

interface RetriedRequest { readonly method: string, readonly body?: unknown }

/** Idempotent and without a body: a streamed body is consumed by the first attempt (OPTIONS may have one). */
function isRetryable (request: RetriedRequest): boolean {
  return RETRYABLE_METHODS.has(request.method) && (request.body === undefined || request.body === '')
}

/** reply-from's `onResponse`: also called after onError answered an invalid status; then free the body. */
function sendUpstreamResponse (_request: FastifyRequest, reply: FastifyReply, response: { stream: Readable }): void {
  if (reply.sent) response.stream.destroy()
  else reply.send(response.stream)
}

export async function serviceProxy (scope: FastifyInstance, { service, isTrustedPeer, upgradesReachRoutes }: ProxyOptions): Promise<void> {
  if (upgradesReachRoutes && !service.websocket) scope.addHook('onRequest', refuseUpgrade)
  if (service.upstreams.length === 0) {
    registerNoUpstreamRoutes(scope)
    return
  }
  const dispatcher = new ClientAwareDispatcher(createUpstreamDispatcher(service))
  scope.addHook('onClose', async () => { await dispatcher.close() })

  const pool = new UpstreamPool(service.loadBalancing === 'round-robin' ? service.upstreams : service.upstreams.slice(0, 1))
  const single = pool.size === 1 ? pool.pick() : null
  const forwarding: ForwardingContext = { prefix: service.prefix, isTrustedPeer }

  /** @fastify/http-proxy's handler: with every upstream down, answer 503 at once instead of trying. */
  function proxyToUpstream (request: FastifyRequest, reply: FastifyReply, dest: string, options: object): FastifyReply {
    const downFor = pool.allDownFor()
    if (downFor > 0) {
      reply.header('retry-after', Math.ceil(downFor / 1000))
      return sendProblem(reply, new NoUpstreamError())
    }
    return proxyWatchingClient(request, reply, dest, options)
  }

  function rewriteResponseHeaders (headers: Record<string, string | string[] | number | undefined>, request: FastifyRequest): ReturnType<typeof filterResponseHeaders> {
    // Any response, whatever its status, means the upstream is up.
    pool.reportUp(request[kUpstream])
    return filterResponseHeaders(headers)
  }

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
    const upstream = reply.request[kUpstream]
    if (upstream !== null && isConnectFailure(error)) pool.reportDown(upstream)
    // @fastify/reply-from has already logged the error itself; add what it became.
    reply.request.log.warn({ upstream, code: fault.code }, 'upstream request failed')
    // reply-from copies the upstream's headers before it finds out the status is invalid: drop them, so a
    // 502 never goes out with the upstream's Content-Encoding, Set-Cookie or caching headers.
    for (const name of Object.keys(reply.getHeaders())) {
      if (name !== REQUEST_ID_HEADER) reply.removeHeader(name)
    }
    // Part of the request body is still unread: the connection cannot carry another request.
    if (!reply.request.raw.complete) reply.header('connection', 'close')
    sendProblem(reply, fault)
  }

  function retryDelay ({ err, req, attempt }: { err: Error | null, req: RetriedRequest, attempt: number }): number | null {
    if (attempt >= service.retryAttempts || !isRetryable(req) || retryableConnectionCode(err) === undefined) return null
    return Math.min(50 * 2 ** attempt, 1000) * (0.5 + Math.random() / 2)
  }

  await scope.register(httpProxy, {
    upstream: single ?? '',
    rewritePrefix: service.rewritePrefix,
    websocket: service.websocket,
    undici: dispatcher,
    handler: proxyToUpstream,
    disableRequestLogging: true,
    // Replaces reply-from's default of retrying GET 503s up to 10 times (design.md §4): only retryDelay retries.
    ...(service.retryAttempts > 0 ? {} : { retryMethods: [] }),
    replyOptions: {
      rewriteRequestHeaders,
      rewriteHeaders: rewriteResponseHeaders,
      onError: onUpstreamError,
      onResponse: sendUpstreamResponse,
      // With retries off, no retry hook at all (it costs reply-from a closure per request).
      ...(service.retryAttempts > 0 ? { retryDelay } : {}),
      ...(single === null ? { getUpstream: pickUpstream } : {})
    },
    ...webSocketOptions(service, forwarding)
  } as FastifyHttpProxyOptions)
}

/** A service with no replicas configured answers 503 instead of disappearing from the routing table. */
function registerNoUpstreamRoutes (scope: FastifyInstance): void {
  const answer = (_request: FastifyRequest, reply: FastifyReply): FastifyReply => sendProblem(reply, new NoUpstreamError())
  scope.all('/', answer)
  scope.all('/*', answer)
}
