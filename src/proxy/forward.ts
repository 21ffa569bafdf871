/**
 * A plain HTTP request's trip to its upstream and back: Gatehouse's own, in place of @fastify/reply-from's
 * `reply.from`, which @fastify/http-proxy's handler would call (issue 6: "the gateway's own hot path is
 * leaner than the default plugins'"). @fastify/http-proxy still registers the routes and maps the path
 * (src/proxy/route-handler.ts); WebSocket upgrades still go through it.
 *
 * Why: `reply.from` does work per request that the gateway does once or not at all. It copies the client's
 * headers twice (a spread, then Object.assign), keys its URL cache with JSON.stringify, builds the URL
 * with `new URL`, and allocates four closures (retry delay, retry runner, two callbacks) for retries that
 * are off here (the pool dispatcher retries, on another replica). Measured on minimal servers on one pinned
 * core, same backend, interleaved rounds: Fastify + reply.from with the body collected whole 70–74 µs of
 * CPU per request, the same server calling undici's `request()` itself 45–52 µs.
 *
 * What reply.from did for a request, this does too:
 * - the path as @fastify/http-proxy mapped it, the client's query string as sent;
 * - request headers built fresh by the service's rewrite (src/proxy/headers.ts: hop-by-hop,
 *   Connection-named and HTTP/2 pseudo-headers dropped, forwarding headers set);
 * - the request body: the stream http-proxy's content-type parser hands on (forwarded as it arrives), or a
 *   body a plugin of the service parsed (sent as a string or buffer, JSON for anything else);
 * - the response: headers filtered by the service's rewrite, `Connection: close` when the client's body
 *   was not read to the end (the connection cannot carry another request), an invalid status answered
 *   502, nothing sent to a client that already left;
 * - failures go to the service's onError with undici's error: src/upstream/faults.ts reads its code.
 *
 * No closure per request: the reply rides on undici's `opaque`, which undici hands back with the answer
 * and with an error alike.
 */
import type { IncomingHttpHeaders } from 'node:http'
import { Stream, type Readable } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Dispatcher } from 'undici'
import { UpstreamBadResponseError } from '../errors.js'
import { clientLeft, type RequestAnswer } from '../upstream/client-abort.js'
import type { Requester } from '../upstream/pool-dispatcher.js'

export type ResponseHeaders = Record<string, string | string[] | number | undefined>

/** The upstream's answer, as the service's onResponse gets it. */
export interface UpstreamResponse {
  readonly statusCode: number
  readonly headers: ResponseHeaders
  readonly stream: Readable
}

/** How one service rewrites and answers its proxied requests (src/proxy/callbacks.ts). */
export interface ForwardHooks {
  readonly rewriteRequestHeaders: (request: FastifyRequest, headers: IncomingHttpHeaders) => IncomingHttpHeaders
  readonly rewriteHeaders: (headers: ResponseHeaders, request: FastifyRequest) => ResponseHeaders
  readonly onError: (reply: FastifyReply, failure: { error: Error }) => void
  readonly onResponse: (request: FastifyRequest, reply: FastifyReply, response: UpstreamResponse) => void
}

/** Sends `request` to the upstream as `path` (already mapped, no query) and answers `reply` with the result. */
export type Forward = (request: FastifyRequest, reply: FastifyReply, path: string) => void

export function upstreamForwarder (requester: Requester, hooks: ForwardHooks): Forward {
  const { rewriteRequestHeaders, rewriteHeaders, onError, onResponse } = hooks

  function answered (error: Error | null, answer: RequestAnswer): void {
    const reply = answer.opaque as FastifyReply
    const request = reply.request
    if (error !== null) {
      request.log.warn({ err: error }, 'upstream request errored')
      if (!reply.sent) onError(reply, { error })
      return
    }
    const { statusCode, headers, body } = answer as Dispatcher.ResponseData
    const forwarded = rewriteHeaders(headers, request)
    for (const name in forwarded) reply.header(name, forwarded[name])
    closeWhenBodyUnread(reply)
    if (!isValidStatus(statusCode)) {
      request.log.warn({ statusCode }, 'upstream answered an invalid status code')
      body.destroy()
      onError(reply, { error: new UpstreamBadResponseError() })
      return
    }
    reply.code(statusCode)
    // The client left before the answer came (or something else answered it): free the upstream body.
    if (clientLeft(reply) || reply.sent) {
      body.destroy()
      return
    }
    onResponse(request, reply, { statusCode, headers: forwarded, stream: body })
  }

  return function forward (request: FastifyRequest, reply: FastifyReply, path: string): void {
    const raw = request.raw
    const url = raw.url as string
    const queryAt = url.indexOf('?')
    const target = upstreamPath(path) + (queryAt > 0 ? url.slice(queryAt) : '')
    const headers = rewriteRequestHeaders(request, raw.headers)
    requester.request({
      method: raw.method as Dispatcher.HttpMethod,
      path: target,
      headers,
      body: upstreamBody(request, headers),
      opaque: reply,
      // The client's response emits 'abort' when the client leaves early (src/upstream/client-abort.ts).
      signal: reply.raw as unknown as Dispatcher.RequestOptions['signal']
    }, answered)
  }
}

/**
 * HTTP/1: a connection whose request body is still partly unread cannot carry another request. (HTTP/2
 * streams are independent, and their requests stay "incomplete" when nobody reads an empty body.)
 */
export function closeWhenBodyUnread (reply: FastifyReply): void {
  const raw = reply.request.raw
  if (!raw.complete && raw.httpVersionMajor !== 2) reply.header('connection', 'close')
}

/** Fastify's own check (reply.code refuses anything else): a status the client can be sent. */
function isValidStatus (status: number): boolean {
  return Number.isInteger(status) && status >= 100 && status <= 599
}

/**
 * Characters a URL path cannot carry as they are (the WHATWG path percent-encode set, and anything
 * outside printable ASCII). Node's parser lets some through (`"`, `<`, `{`...); undici refuses others.
 */
const NEEDS_ENCODING = /[^\x21-\x7e]|["#<>`{}]/

/** The path as `new URL` would write it (reply-from resolved every path that way), without paying for it. */
function upstreamPath (path: string): string {
  if (path === '') return '/'
  return NEEDS_ENCODING.test(path) ? new URL(path, 'http://upstream.invalid').pathname : path
}

/**
 * The body to send: the client's stream as it arrives, or a body a plugin of the service parsed. A parsed
 * body is sent as the bytes it now is, with their length (a JSON value as JSON).
 */
function upstreamBody (request: FastifyRequest, headers: IncomingHttpHeaders): Readable | string | Buffer | undefined {
  const body = request.body
  if (body === undefined || body === null) return undefined
  if (body instanceof Stream) return body as Readable
  let bytes: string | Buffer
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    bytes = body
  } else {
    bytes = JSON.stringify(body)
    headers['content-type'] = 'application/json'
  }
  headers['content-length'] = String(Buffer.byteLength(bytes))
  return bytes
}
