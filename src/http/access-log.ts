/**
 * The access log as Fastify's own extension point for request logging (a LogController subclass) rather
 * than two extra hooks on every request: one pino line per request with the request id, method, path
 * (no query: it may carry secrets), service, upstream, status, duration and bytes sent (issue 2).
 */
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify'
import { REQUEST_ID_HEADER } from './request-id.js'
import { kBytesAtStart, kService, kUpstream } from '../symbols.js'

/** nginx's status for "the client closed the connection before the response was complete". */
export const CLIENT_CLOSED_REQUEST = 499

function accessEntry (request: FastifyRequest, reply: FastifyReply, status: number): Record<string, unknown> {
  const url = request.raw.url ?? ''
  const queryAt = url.indexOf('?')
  return {
    method: request.method,
    path: queryAt === -1 ? url : url.slice(0, queryAt),
    service: request[kService]?.name ?? null,
    upstream: request[kUpstream],
    status,
    durationMs: Math.round(reply.elapsedTime * 100) / 100,
    bytes: (request.raw.socket?.bytesWritten ?? 0) - request[kBytesAtStart]
  }
}

export class AccessLogController extends LogController {
  override incomingRequest (request: FastifyRequest, reply: FastifyReply): void {
    reply.header(REQUEST_ID_HEADER, request.id)
    // Keep-alive sockets carry many requests: remember where this one starts.
    request[kBytesAtStart] = request.raw.socket?.bytesWritten ?? 0
  }

  override requestCompleted (error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const entry = accessEntry(request, reply, reply.statusCode)
    if (error) request.log.warn({ ...entry, err: error }, 'request failed')
    else request.log.info(entry, 'request')
  }
}

/**
 * The line for a response that never finished (the client left, or the upstream body broke after the
 * status was sent): Fastify calls requestCompleted only for finished responses.
 */
export function logUnfinishedRequest (request: FastifyRequest, reply: FastifyReply): void {
  const status = reply.raw.headersSent ? reply.statusCode : CLIENT_CLOSED_REQUEST
  request.log.info(accessEntry(request, reply, status), 'request aborted')
}
