/**
 * The gateway's own endpoints under the admin prefix (default /_gatehouse), which config validation keeps
 * clear of every service prefix: `healthz` says the process is alive, `readyz` that the config is loaded,
 * the listener is up and the gateway is not draining (orchestrators stop sending traffic on 503);
 * `rate-limit` reports the counter store and the requests its failures let through or refused;
 * `upstreams` every service's replicas: state (up, down, ejected, half-open, unhealthy), load and failures;
 * `cache` the response store's size, and `cache/purge` (with gateway.cache.purgeToken) removes entries.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { NotReadyError, ShuttingDownError } from '../src/errors.js'
import { sendProblem } from '../src/http/problem.js'
import { kUpstreamPools } from '../src/symbols.js'
import { upstreamsStatus, type ServiceUpstreams } from '../src/upstream/status.js'
import { rateLimitStatusEndpoint } from './rate-limit.js'
import { kResponseStore } from '../src/cache/shared-store.js'
import { purgeHandler } from '../src/cache/purge.js'

export async function adminEndpoints (scope: FastifyInstance): Promise<void> {
  scope.get('/healthz', { logLevel: 'warn' }, healthz)
  scope.get('/readyz', { logLevel: 'warn' }, readyz)
  scope.get('/rate-limit', { logLevel: 'warn' }, rateLimitStatusEndpoint)
  scope.get('/upstreams', { logLevel: 'warn' }, upstreams)
  const responses = scope[kResponseStore]
  if (responses !== undefined) {
    scope.get('/cache', { logLevel: 'warn' }, async () => responses.store.usage())
    const token = scope.gatehouse.config.cache.purgeToken
    if (token !== null) scope.post('/cache/purge', purgeHandler(responses.store, token))
  }
}

async function upstreams (this: FastifyInstance): Promise<{ services: ServiceUpstreams[] }> {
  return { services: upstreamsStatus(this[kUpstreamPools]) }
}

async function healthz (): Promise<{ status: 'ok' }> {
  return { status: 'ok' }
}

function readyz (this: FastifyInstance, _request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (this.gatehouse.draining) return sendProblem(reply, new ShuttingDownError())
  if (!this.server.listening) return sendProblem(reply, new NotReadyError())
  return reply.send({ status: 'ready', services: this.gatehouse.config.services.length })
}
