/**
 * Root request guards that run before any service policy: refuse ambiguous paths (dot-segments, encoded
 * separators), refuse new work while the gateway drains for shutdown, and hold paths outside every service
 * to the gateway's IP lists (a denied client probing for services gets 403, not 404s to map them with).
 */
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { BadPathError, IpForbiddenError, ShuttingDownError } from '../src/errors.js'
import { compileIpAccess } from '../src/http/ip-access.js'
import { isUnsafePath } from '../src/http/path-guard.js'
import { kService } from '../src/symbols.js'

async function security (app: FastifyInstance): Promise<void> {
  app.addHook('onRequest', guardRequest)
  const { ipAccess } = app.gatehouse.config
  if (ipAccess === null) return
  const isAllowed = compileIpAccess(ipAccess)
  app.addHook('onRequest', function guardUnroutedIp (request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void) {
    done(request.is404 && !isAllowed(request.ip) ? new IpForbiddenError() : undefined)
  })
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
