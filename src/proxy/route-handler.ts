/**
 * The route handler of a plain HTTP service, in place of @fastify/http-proxy's own (plugins/proxy.ts swaps
 * it in with an onRoute hook).
 *
 * http-proxy's handler maps the request path to the upstream path, then resolves the result once more with
 * three `new URL` calls (its resolveDestination: about 4 % of a proxied request's CPU in the profile,
 * 3–4 µs). Everything that second resolution refuses is already refused by then:
 * - reply.fromParameters, the decorator http-proxy documents for handlers of their own, maps the path the
 *   same way and refuses an absolute destination, one starting with `//`, and a `..` segment, also encoded;
 * - the root path guard (src/http/path-guard.ts) refused dot-segments, encoded separators and backslashes
 *   before routing;
 * - @fastify/reply-from's buildURL refuses a destination on another origin.
 *
 * Only the path goes through fromParameters: http-proxy's handler passes reply-from the path alone too, and
 * reply-from forwards the client's query string as it was sent. WebSocket services keep http-proxy's
 * handler, which also upgrades.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

/** What @fastify/http-proxy passes its `handler` option: the upstream path and reply-from's options. */
export type ProxyHandler = (request: FastifyRequest, reply: FastifyReply, dest: string, options: object) => void

type ReplyWithFromParameters = FastifyReply & {
  fromParameters: (url: string, params?: unknown, prefix?: string) => { url: string, options: object }
}

export function proxyRouteHandler (proxy: ProxyHandler) {
  return function proxyRoute (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply): void {
    const { url, options } = (reply as ReplyWithFromParameters).fromParameters(pathOf(request.url), request.params, this.prefix)
    proxy(request, reply, url, options)
  }
}

function pathOf (url: string): string {
  const queryAt = url.indexOf('?')
  return queryAt === -1 ? url : url.slice(0, queryAt)
}
