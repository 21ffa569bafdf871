/**
 * The per-request callbacks of one service's proxy, created once per service (no closure per request):
 * @fastify/http-proxy's handler and the hooks of the upstream call (src/proxy/forward.ts).
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { IncomingHttpHeaders } from 'node:http'
import type { ResponseCompressor } from '../compression/compressor.js'
import type { ResponseCache } from '../cache/response-cache.js'
import type { ResolvedService } from '../config/types.js'
import { NoUpstreamError } from '../errors.js'
import { sendProblem } from '../http/problem.js'
import { REQUEST_ID_HEADER } from '../http/request-id.js'
import { kUpstream } from '../symbols.js'
import { clientLeft, watchClient } from '../upstream/client-abort.js'
import { upstreamFault } from '../upstream/faults.js'
import type { Member } from '../upstream/member.js'
import type { UpstreamPool } from '../upstream/pool.js'
import type { Requester } from '../upstream/pool-dispatcher.js'
import { closeWhenBodyUnread, upstreamForwarder, type ForwardHooks, type ResponseHeaders, type UpstreamResponse } from './forward.js'
import { filterResponseHeaders, forwardRequestHeaders, type ForwardingContext } from './headers.js'
import { sendUpstreamBody } from './whole-body.js'

/** The upstream call's `onResponse` when the service neither caches nor compresses. */
function sendUpstreamResponse (_request: FastifyRequest, reply: FastifyReply, response: UpstreamResponse): void {
  sendUpstreamBody(reply, response.stream)
}

/**
 * Removes what an upstream answer put on the reply, keeping the gateway's own fields (request id, its
 * rate-limit counts): before a problem or a stored answer replaces that answer.
 */
export function upstreamHeaderDropper (forwarding: ForwardingContext): (reply: FastifyReply) => void {
  const owned = forwarding.ownedResponseHeaders
  return function dropUpstreamHeaders (reply: FastifyReply): void {
    for (const name of Object.keys(reply.getHeaders())) {
      if (name !== REQUEST_ID_HEADER && owned?.has(name) !== true) reply.removeHeader(name)
    }
  }
}

export interface ProxyDelivery {
  readonly compressor: ResponseCompressor | null
  readonly cache: ResponseCache | null
}

export function proxyCallbacks (service: ResolvedService, pool: UpstreamPool, dispatcher: Requester, forwarding: ForwardingContext, { compressor, cache }: ProxyDelivery) {
  const dropUpstreamHeaders = upstreamHeaderDropper(forwarding)
  /**
   * @fastify/http-proxy's handler: with no replica available, or the service's pending-request cap reached,
   * answer 503 with Retry-After at once instead of trying.
   *
   * Returns nothing: http-proxy's route handler returns what this returns, and a returned reply is a
   * thenable that Fastify then waits on with an end-of-stream watcher on every response (about 1 µs per
   * request in the profile). A handler that is not async and returns undefined simply sends later.
   */
  function proxyToUpstream (request: FastifyRequest, reply: FastifyReply, dest: string): void {
    if (pool.inflight >= service.maxPendingRequests) {
      if (cache?.answerFault(request, reply) === true) return
      reply.header('retry-after', 1)
      sendProblem(reply, new NoUpstreamError())
      return
    }
    const downFor = pool.allDownFor()
    if (downFor > 0) {
      if (cache?.answerFault(request, reply) === true) return
      reply.header('retry-after', Math.ceil(downFor / 1000))
      sendProblem(reply, new NoUpstreamError())
      return
    }
    if (watchClient(reply)) forward(request, reply, dest)
  }

  function rewriteRequestHeaders (request: FastifyRequest, headers: IncomingHttpHeaders): IncomingHttpHeaders {
    return forwardRequestHeaders(request, headers, forwarding)
  }

  /** A caching service's upstream request may ask for the identity body and carry the cache's validators. */
  function rewriteCachedRequestHeaders (request: FastifyRequest, headers: IncomingHttpHeaders): IncomingHttpHeaders {
    const forwarded = forwardRequestHeaders(request, headers, forwarding);
    (cache as ResponseCache).upstreamRequestHeaders(request, forwarded)
    return forwarded
  }

  function rewriteResponseHeaders (headers: ResponseHeaders): ResponseHeaders {
    return filterResponseHeaders(headers, forwarding)
  }

  /** A caching service keeps the forwarded headers for its policy and store. */
  function rewriteAndKeepResponseHeaders (headers: ResponseHeaders, request: FastifyRequest): ResponseHeaders {
    return (cache as ResponseCache).keepUpstreamHeaders(request, filterResponseHeaders(headers, forwarding))
  }

  /** WebSocket upgrades only (plain requests pick their replica in the dispatcher). */
  function pickWebSocketUpstream (request: FastifyRequest): string {
    const member = pool.pick()
    const upstream = member?.url ?? (pool.members[0] as Member).url
    request[kUpstream] = upstream
    return upstream
  }

  function onUpstreamError (reply: FastifyReply, { error }: { error: Error }): void {
    // The client left and its departure aborted the upstream request: nobody to answer, nothing failed upstream.
    if (clientLeft(reply)) return
    const fault = upstreamFault(error)
    const upstream = reply.request[kUpstream]
    // The error itself is logged already (by forward.ts, or by whole-body.ts for a body that failed
    // while collected); add what it became.
    reply.request.log.warn({ upstream, code: fault.code }, 'upstream request failed')
    // The upstream's headers are copied before its status is checked: drop them, so a 502 never goes out
    // with the upstream's Content-Encoding, Set-Cookie or caching headers.
    // The gateway's own fields (its rate-limit counts) stay: the upstream's copies were never applied.
    dropUpstreamHeaders(reply)
    closeWhenBodyUnread(reply)
    if (cache?.answerFault(reply.request, reply) === true) return
    sendProblem(reply, fault)
  }

  /** The upstream call's `onResponse` when the service compresses. */
  function sendCompressible (_request: FastifyRequest, reply: FastifyReply, response: UpstreamResponse): void {
    (compressor as ResponseCompressor).sendProxied(reply, response.stream)
  }

  const hooks: ForwardHooks = {
    rewriteRequestHeaders: cache === null ? rewriteRequestHeaders : rewriteCachedRequestHeaders,
    rewriteHeaders: cache === null ? rewriteResponseHeaders : rewriteAndKeepResponseHeaders,
    onError: onUpstreamError,
    onResponse: cache !== null ? cache.respond : compressor === null ? sendUpstreamResponse : sendCompressible
  }
  const forward = upstreamForwarder(dispatcher, hooks)

  // http-proxy's `upstream` only serves WebSocket upgrades (plain requests go through the dispatcher, which
  // picks their replica): any replica's URL, or none when a multi-replica service picks through getUpstream.
  const picksPerUpgrade = service.websocket && pool.size > 1
  return {
    upstream: picksPerUpgrade ? '' : (pool.members[0] as Member).url,
    handler: proxyToUpstream,
    replyOptions: picksPerUpgrade ? { getUpstream: pickWebSocketUpstream } : {},
    answerUpstreamFault: onUpstreamError
  }
}
