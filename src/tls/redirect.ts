/**
 * The plain-HTTP listener beside the HTTPS one (gateway.tls.redirectHttp): every request gets
 * 308 Permanent Redirect (method and body kept, RFC 9110 §15.4.9) to the same path on https://, except
 * the admin healthz and readyz, which the gateway answers itself so load balancers and container health
 * checks that probe over plain HTTP keep working. A Host that is not a host name or an IP literal gets 400:
 * it would otherwise be written into the Location of a redirect (an open redirect, or a header injection).
 */
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http'
import { isIPv6 } from 'node:net'
import type { GatewayConfig } from '../config/types.js'
import { BadRequestError } from '../errors.js'
import { answerClientError } from '../http/client-error.js'
import { PROBLEM_CONTENT_TYPE, problemFor } from '../http/problem.js'

const DEFAULT_HTTPS_PORT = 443
// A DNS name (labels of letters, digits and inner hyphens, an optional final dot), an IPv4 address (which
// the same pattern accepts), or a bracketed IPv6 literal; then an optional port, which is dropped.
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?'
const ORIGIN_FORM = /^\/(?!\/)[\x21-\x7e]*$/
const HOST = new RegExp(`^(?:\\[([0-9A-Fa-f:.]+)\\]|(${LABEL}(?:\\.${LABEL})*\\.?))(?::\\d{0,5})?$`)

/** The host part of a Host header, lower-cased and without its port; undefined when it is not a valid host. */
export function hostOf (header: string | undefined): string | undefined {
  if (header === undefined || header.length > 255) return undefined
  const match = HOST.exec(header)
  if (match === null) return undefined
  const [, ipv6, name] = match
  if (ipv6 !== undefined) return isIPv6(ipv6) ? `[${ipv6.toLowerCase()}]` : undefined
  return name?.toLowerCase()
}

/** The https:// URL for a request target on this host, or undefined when either cannot be redirected. */
export function httpsLocation (hostHeader: string | undefined, target: string | undefined, httpsPort: number): string | undefined {
  const host = hostOf(hostHeader)
  // Origin-form only (absolute-form and `*` are for proxies and OPTIONS, not a browser's first visit), in
  // visible ASCII (what a header value may carry), and not `//x`, which a client could read as another host.
  if (host === undefined || target === undefined || !ORIGIN_FORM.test(target)) return undefined
  return `https://${host}${httpsPort === DEFAULT_HTTPS_PORT ? '' : `:${httpsPort}`}${target}`
}

export interface RedirectOptions {
  /** The port the HTTPS listener is bound to. */
  readonly httpsPort: number
  /** The gateway's own request handler, for the admin health endpoints. */
  readonly gateway: RequestListener
}

export function createRedirectListener (config: GatewayConfig, options: RedirectOptions): Server {
  const healthPaths = new Set([`${config.adminPrefix}/healthz`, `${config.adminPrefix}/readyz`])
  const server = createServer({
    maxHeaderSize: config.limits.headerBytes,
    headersTimeout: config.timeouts.requestHeaders
  }, (request, response) => {
    const target = request.url ?? ''
    const query = target.indexOf('?')
    if (healthPaths.has(query === -1 ? target : target.slice(0, query))) {
      options.gateway(request, response)
      return
    }
    redirect(request, response, options.httpsPort)
  })
  server.keepAliveTimeout = config.timeouts.keepAlive
  server.on('clientError', answerClientError)
  return server
}

function redirect (request: IncomingMessage, response: ServerResponse, httpsPort: number): void {
  const location = httpsLocation(request.headers.host, request.url, httpsPort)
  if (location === undefined) {
    const body = JSON.stringify(problemFor(new BadRequestError()))
    response.writeHead(400, { 'content-type': PROBLEM_CONTENT_TYPE, 'content-length': Buffer.byteLength(body) })
    response.end(body)
    return
  }
  response.writeHead(308, { location, 'content-length': 0 })
  response.end()
}
