/**
 * The access log as Fastify's own extension point for request logging (a LogController subclass) rather
 * than two extra hooks on every request: one pino line per request with the request id, method, path
 * (no query: it may carry secrets), service, upstream, status, duration and bytes sent (issue 2).
 */
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify'
import { REQUEST_ID_HEADER } from './request-id.js'
import { kBytesAtStart, kService, kUpstream } from '../symbols.js'

export class AccessLogController extends LogController {
  override incomingRequest (request: FastifyRequest, reply: FastifyReply): void {
    reply.header(REQUEST_ID_HEADER, request.id)
    // Keep-alive sockets carry many requests: remember where this one starts.
    request[kBytesAtStart] = request.raw.socket?.bytesWritten ?? 0
  }

  override requestCompleted (error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const url = request.raw.url ?? ''
    const queryAt = url.indexOf('?')
    const entry = {
      method: request.method,
      path: queryAt === -1 ? url : url.slice(0, queryAt),
      service: request[kService]?.name ?? null,
      upstream: request[kUpstream],
      status: reply.statusCode,
      durationMs: Math.round(reply.elapsedTime * 100) / 100,
      bytes: (request.raw.socket?.bytesWritten ?? 0) - request[kBytesAtStart]
    }
    if (error) request.log.warn({ ...entry, err: error }, 'request failed')
    else request.log.info(entry, 'request')
  }
}
