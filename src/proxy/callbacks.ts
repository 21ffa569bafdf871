/**
 * The per-request callbacks of one service's proxy, created once per service (no closure per request):
 * @fastify/http-proxy's handler and @fastify/reply-from's hooks.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { IncomingHttpHeaders } from 'node:http'
import type { Readable } from 'node:stream'
import type { ResolvedService } from '../config/types.js'
import { NoUpstreamError } from '../errors.js'
import { sendProblem } from '../http/problem.js'
import { REQUEST_ID_HEADER } from '../http/request-id.js'
import { kUpstream } from '../symbols.js'
import { carryClientSignal, proxyWatchingClient } from '../upstream/client-abort.js'
import { isConnectFailure, retryableConnectionCode, upstreamFault } from '../upstream/faults.js'
import type { UpstreamPool } from '../upstream/pool.js'
import { filterResponseHeaders, forwardRequestHeaders, type ForwardingContext } from './headers.js'

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

type ResponseHeaders = Record<string, string | string[] | number | undefined>

export function proxyCallbacks (service: ResolvedService, pool: UpstreamPool, forwarding: ForwardingContext) {
  const single = pool.size === 1 ? pool.pick() : null

  /** @fastify/http-proxy's handler: with every upstream down, answer 503 at once instead of trying. */
  function proxyToUpstream (request: FastifyRequest, reply: FastifyReply, dest: string, options: object): FastifyReply {
    const downFor = pool.allDownFor()
    if (downFor > 0) {
      reply.header('retry-after', Math.ceil(downFor / 1000))
      return sendProblem(reply, new NoUpstreamError())
    }
    return proxyWatchingClient(request, reply, dest, options)
  }

  function rewriteRequestHeaders (request: FastifyRequest, headers: IncomingHttpHeaders): IncomingHttpHeaders {
    request[kUpstream] ??= single
    return carryClientSignal(request, forwardRequestHeaders(request, headers, forwarding))
  }

  function rewriteResponseHeaders (headers: ResponseHeaders, request: FastifyRequest): ResponseHeaders {
    // Any response, whatever its status, means the upstream is up.
    pool.reportUp(request[kUpstream])
    return filterResponseHeaders(headers, forwarding.ownedResponseHeaders)
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
    // The gateway's own fields (its rate-limit counts) stay: the upstream's copies were never applied.
    const owned = forwarding.ownedResponseHeaders
    for (const name of Object.keys(reply.getHeaders())) {
      if (name !== REQUEST_ID_HEADER && owned?.has(name) !== true) reply.removeHeader(name)
    }
    // Part of the request body is still unread: the connection cannot carry another request.
    if (!reply.request.raw.complete) reply.header('connection', 'close')
    sendProblem(reply, fault)
  }

  function retryDelay ({ err, req, attempt }: { err: Error | null, req: RetriedRequest, attempt: number }): number | null {
    if (attempt >= service.retryAttempts || !isRetryable(req) || retryableConnectionCode(err) === undefined) return null
    return Math.min(50 * 2 ** attempt, 1000) * (0.5 + Math.random() / 2)
  }

  return {
    /** The fixed upstream of a one-replica service ('' when the pool picks per request). */
    upstream: single ?? '',
    handler: proxyToUpstream,
    replyOptions: {
      rewriteRequestHeaders,
      rewriteHeaders: rewriteResponseHeaders,
      onError: onUpstreamError,
      onResponse: sendUpstreamResponse,
      // With retries off, no retry hook at all (it costs reply-from a closure per request).
      ...(service.retryAttempts > 0 ? { retryDelay } : {}),
      ...(single === null ? { getUpstream: pickUpstream } : {})
    }
  }
}
