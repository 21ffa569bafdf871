/**
 * What every demo service shares: a Fastify instance with `GET /health` and problem+json errors
 * (RFC 9457), so the gateway's own error shape can be compared with an upstream's.
 */
import { STATUS_CODES } from 'node:http'
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify'

export interface ServiceOptions {
  /** Off by default so tests stay quiet; the entry point turns it on. */
  readonly logger?: boolean | { readonly level: string }
}

export function createService (options: ServiceOptions = {}): FastifyInstance {
  const app = Fastify({ logger: options.logger ?? false })
  app.get('/health', async () => ({ status: 'ok' }))
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, 404, `no route for ${request.method} ${request.url}`))
  app.setErrorHandler<FastifyError>((error, request, reply) => {
    const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500
      ? error.statusCode
      : 500
    if (status === 500) request.log.error({ err: error }, 'request failed')
    // Client errors (schema validation, bad JSON) explain themselves; server errors never leak details.
    return sendProblem(reply, status, status === 500 ? 'internal error' : error.message)
  })
  return app
}

export function sendProblem (reply: FastifyReply, status: number, detail: string): FastifyReply {
  return reply
    .code(status)
    .type('application/problem+json')
    .send({ type: 'about:blank', title: STATUS_CODES[status] ?? 'Error', status, detail })
}
