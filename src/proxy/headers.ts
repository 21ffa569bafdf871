/**
 * Header rules at the proxy boundary.
 * - Hop-by-hop headers (RFC 9110 §7.6.1) and every header named in `Connection` are dropped both ways.
 * - X-Forwarded-For/Proto/Host/Prefix are set by the gateway; client-sent copies are only extended when the
 *   peer is a trusted proxy, so a client cannot choose the address an upstream sees.
 * - Upstream `Server` / `X-Powered-By` are removed, so responses do not advertise the backend stack.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http'
import type { FastifyRequest } from 'fastify'
import { REQUEST_ID_HEADER } from '../http/request-id.js'

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade', 'http2-settings']

const BACKEND_IDENTITY = ['server', 'x-powered-by']

/** Tells whether the direct peer of a request is one of the configured trusted proxies. */
export type PeerTrust = (address: string) => boolean

type HeaderBag = IncomingHttpHeaders | OutgoingHttpHeaders | Record<string, unknown>

function dropHopByHop (headers: HeaderBag): void {
  const connection = headers.connection
  if (typeof connection === 'string') {
    for (const name of connection.split(',')) delete headers[name.trim().toLowerCase()]
  }
  for (const name of HOP_BY_HOP) delete headers[name]
}

export function filterResponseHeaders<T extends HeaderBag> (headers: T): T {
  dropHopByHop(headers)
  for (const name of BACKEND_IDENTITY) delete headers[name]
  return headers
}

export interface ForwardingContext {
  readonly prefix: string
  readonly isTrustedPeer: PeerTrust
}

/** Request headers for the upstream; `headers` is already a copy made by @fastify/reply-from. */
export function forwardRequestHeaders<T extends HeaderBag> (request: FastifyRequest, headers: T, context: ForwardingContext): T {
  dropHopByHop(headers)
  const peer = request.raw.socket?.remoteAddress ?? ''
  const trusted = context.isTrustedPeer(peer)
  const original = request.headers
  if (!trusted) delete headers.forwarded
  headers['x-forwarded-for'] = trusted && typeof original['x-forwarded-for'] === 'string'
    ? `${original['x-forwarded-for']}, ${peer}`
    : peer
  headers['x-forwarded-proto'] = trusted && typeof original['x-forwarded-proto'] === 'string'
    ? original['x-forwarded-proto']
    : (request.raw.socket as { encrypted?: boolean } | undefined)?.encrypted === true ? 'https' : 'http'
  headers['x-forwarded-host'] = trusted && typeof original['x-forwarded-host'] === 'string'
    ? original['x-forwarded-host']
    : original.host ?? ''
  headers['x-forwarded-prefix'] = trusted && typeof original['x-forwarded-prefix'] === 'string'
    ? `${original['x-forwarded-prefix']}${context.prefix}`
    : context.prefix
  headers['x-real-ip'] = request.ip
  headers[REQUEST_ID_HEADER] = request.id
  return headers
}
