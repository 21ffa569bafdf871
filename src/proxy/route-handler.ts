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
 * - the destination is only ever a path: the dispatcher sends it to the replica it picks (forward.ts).
 *
 * Only the path goes through fromParameters (its query handling re-serializes: `?a` becomes `?a=`):
 * forward.ts appends the client's query string as it was sent. WebSocket services keep http-proxy's
 * handler, which also upgrades, and calls the same proxy handler for their plain requests.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { pathBelowPrefix } from '../http/route-match.js'

/** The service's proxy handler (src/proxy/callbacks.ts): the request, its reply, and the upstream path. */
export type ProxyHandler = (request: FastifyRequest, reply: FastifyReply, dest: string) => void

type ReplyWithFromParameters = FastifyReply & {
  fromParameters: (url: string, params?: unknown, prefix?: string) => { url: string }
}

export function proxyRouteHandler (proxy: ProxyHandler) {
  return function proxyRoute (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply): void {
    proxy(request, reply, (reply as ReplyWithFromParameters).fromParameters(pathBelowPrefix(request.url, 0), request.params, this.prefix).url)
  }
}
