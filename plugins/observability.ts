/**
 * Per-request state the access log reads (src/http/access-log.ts writes the line). Declared once at the
 * root so every request object has the same shape from the start (no hidden-class changes per request).
 */
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { kCacheState, kUpstreamHeaders } from '../src/cache/request-state.js'
import { kBytesAtStart, kPrincipal, kUpstream, kUpstreamPools } from '../src/symbols.js'

async function observability (app: FastifyInstance): Promise<void> {
  app.decorate(kUpstreamPools, new Map())
  app.decorateRequest(kUpstream, null)
  app.decorateRequest(kBytesAtStart, 0)
  app.decorateRequest(kPrincipal, null)
  app.decorateRequest(kCacheState, null)
  app.decorateRequest(kUpstreamHeaders, null)
}

export default fp(observability, { name: 'gatehouse-observability', fastify: '5.x' })
