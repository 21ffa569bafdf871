/**
 * The proxy of one service, on @fastify/http-proxy: prefix routing on a segment boundary, prefix rewrite,
 * forwarding headers, load balancing over replicas with outlier detection and health checks (the pool
 * dispatcher picks each request's replica), keep-alive pools, timeouts, retries on another replica for
 * idempotent requests, and upstream faults as 502/503/504 problems. Registered inside the service's scope,
 * after its policies, so their hooks run before the proxy handler.
 */
import httpProxy, { type FastifyHttpProxyOptions } from '@fastify/http-proxy'
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ResolvedService } from '../src/config/types.js'
import { NoUpstreamError } from '../src/errors.js'
import { sendProblem } from '../src/http/problem.js'
import { proxyCallbacks, type ProxyDelivery } from '../src/proxy/callbacks.js'
import type { ForwardingContext } from '../src/proxy/headers.js'
import { proxyRouteHandler } from '../src/proxy/route-handler.js'
import { refuseUpgrade, webSocketOptions } from '../src/proxy/websocket.js'
import { createUpstreamDispatcher } from '../src/upstream/dispatcher.js'
import { hashKeyReader } from '../src/upstream/hash-key.js'
import { HealthChecker } from '../src/upstream/health-check.js'
import { DOWN_COOLDOWN_MS, UpstreamPool } from '../src/upstream/pool.js'
import { PoolDispatcher } from '../src/upstream/pool-dispatcher.js'
import { RetryBudget } from '../src/upstream/retry-budget.js'
import { kAnswerUpstreamFault, kHolding, kUpstreamPools } from '../src/symbols.js'

export interface ProxyOptions {
  readonly service: ResolvedService
  /** How requests and answers are rewritten on their way through (src/proxy/headers.ts). */
  readonly forwarding: ForwardingContext
  /** Another service accepts WebSockets, so upgrade requests reach every service's routes. */
  readonly upgradesReachRoutes: boolean
  /** The service's compressor and cache, each null when off. */
  readonly delivery: ProxyDelivery
}

export async function serviceProxy (scope: FastifyInstance, { service, forwarding, upgradesReachRoutes, delivery }: ProxyOptions): Promise<void> {
  if (upgradesReachRoutes && !service.websocket) scope.addHook('onRequest', refuseUpgrade)
  if (service.upstreams.length === 0) {
    registerNoUpstreamRoutes(scope)
    return
  }
  const upstream = scope[kHolding].acquire(`upstream:${service.name}`, upstreamSettings(service),
    () => createUpstream(service, scope.log), closeUpstream)
  scope[kUpstreamPools].set(service.name, upstream.pool)
  // The first instance's onReady starts the checks; an instance built by a reload finds them running.
  scope.addHook('onReady', async () => { upstream.checker?.start() })
  const { pool, dispatcher } = upstream
  const callbacks = proxyCallbacks(service, pool, dispatcher, forwarding, delivery)
  // A body collected whole that fails before anything was sent is answered as a failed request is.
  scope.decorateReply(kAnswerUpstreamFault, { getter: () => callbacks.answerUpstreamFault })
  const proxyOptions = {
    upstream: callbacks.upstream,
    handler: callbacks.handler,
    replyOptions: callbacks.replyOptions,
    rewritePrefix: service.rewritePrefix,
    websocket: service.websocket,
    // Plain requests never reach @fastify/reply-from (src/proxy/forward.ts calls the dispatcher); given the
    // dispatcher, the copy http-proxy registers opens no connection pool of its own.
    undici: dispatcher,
    disableRequestLogging: true,
    retryMethods: [],
    ...webSocketOptions(service, forwarding)
  } as FastifyHttpProxyOptions
  // A scope of its own, so the onRoute hook sees http-proxy's routes and nothing else.
  await scope.register(async function proxyRoutes (routes: FastifyInstance) {
    if (!service.websocket) {
      // Without http-proxy's second resolution of every destination (src/proxy/route-handler.ts).
      const proxyRoute = proxyRouteHandler(callbacks.handler)
      routes.addHook('onRoute', (route) => { route.handler = proxyRoute })
    }
    await routes.register(httpProxy, proxyOptions)
  })
}

/**
 * A service's replicas and the connections to them: kept across a reload that leaves these settings
 * alone, so a reload neither forgets ejections and health states nor reopens keep-alive connections.
 */
interface ServiceUpstream {
  readonly pool: UpstreamPool
  readonly dispatcher: PoolDispatcher
  readonly checker: HealthChecker | null
}

function upstreamSettings (service: ResolvedService): unknown {
  const { upstreams, timeouts, retryAttempts, retryBudgetPercent, loadBalancing, outlierDetection, healthCheck, maxPendingRequests, tls } = service
  return { upstreams, timeouts, retryAttempts, retryBudgetPercent, loadBalancing, outlierDetection, healthCheck, maxPendingRequests, tls }
}

function createUpstream (service: ResolvedService, log: FastifyBaseLogger): ServiceUpstream {
  const agent = createUpstreamDispatcher(service)
  const pool = new UpstreamPool(service.loadBalancing.strategy === 'first-upstream' ? service.upstreams.slice(0, 1) : service.upstreams, {
    balancing: service.loadBalancing,
    outlier: service.outlierDetection,
    unhealthyRetryAfter: service.healthCheck?.interval ?? DOWN_COOLDOWN_MS,
    onStateChange: (member, state, reason) => {
      log[state === 'up' ? 'info' : 'warn']({ service: service.name, upstream: member.url, state, reason }, 'upstream state changed')
    }
  })
  const dispatcher = new PoolDispatcher(agent, {
    pool,
    retryAttempts: service.retryAttempts,
    budget: new RetryBudget(service.retryBudgetPercent),
    hashKeyOf: service.loadBalancing.hashOn === null ? null : hashKeyReader(service.loadBalancing.hashOn)
  })
  return { pool, dispatcher, checker: service.healthCheck === null ? null : new HealthChecker(pool, service.healthCheck, agent) }
}

async function closeUpstream ({ dispatcher, checker }: ServiceUpstream): Promise<void> {
  checker?.stop()
  await dispatcher.close()
}

/** A service with no replicas configured answers 503 instead of disappearing from the routing table. */
function registerNoUpstreamRoutes (scope: FastifyInstance): void {
  const answer = (_request: FastifyRequest, reply: FastifyReply): FastifyReply => sendProblem(reply, new NoUpstreamError())
  scope.all('/', answer)
  scope.all('/*', answer)
}
