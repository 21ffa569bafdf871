/**
 * Root request guards that run before any service policy: refuse ambiguous paths (dot-segments, encoded
 * separators) and refuse new work while the gateway drains for shutdown.
 */
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { BadPathError, ShuttingDownError } from '../src/errors.js'
import { isUnsafePath } from '../src/http/path-guard.js'
import { kService } from '../src/symbols.js'

async function security (app: FastifyInstance): Promise<void> {
  app.addHook('onRequest', guardRequest)
}

function guardRequest (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void): void {
  if (isUnsafePath(request.raw.url ?? '/')) {
    done(new BadPathError())
    return
  }
  // Admin endpoints keep answering while draining: readyz must be able to say 503, healthz that we live.
  if (this.gatehouse.draining && request[kService] !== undefined) {
    reply.header('connection', 'close')
    done(new ShuttingDownError())
    return
  }
  done()
}

export default fp(security, { name: 'gatehouse-security', fastify: '5.x', dependencies: ['gatehouse-observability'] })
