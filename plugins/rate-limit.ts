/**
 * Rate limits (issue 3), in two plugins:
 * - `gatewayRateLimit` (root): the shared state (store, Redis client, failure counts) and the per-IP tier,
 *   a root onRequest hook, so it counts every request before auth, 404s and 401s included, but never
 *   the gateway's own endpoints (health checks must not be throttled);
 * - `serviceRateLimit` (service scope, after auth): the service's caller tier, then each matching route tier.
 * Both wrap their hook with fastify-plugin so it applies to the scope they are registered in.
 */
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { GatewayConfig, ResolvedService, RouteMatchSettings } from '../src/config/types.js'
import { compileRouteMatch, type RouteTest } from '../src/http/route-match.js'
import { callerKeyFor, clientIpKey, exemptAddresses, exemptKeys } from '../src/rate-limit/client-key.js'
import { normalizedPathBelowPrefix } from '../src/http/normalized-path.js'
import { kRateLimit, rateLimitStatus, type RateLimitState, type RateLimitStatus } from '../src/rate-limit/state.js'
import { StoreFailures } from '../src/rate-limit/store-failures.js'
import { countRequest, createTier, type Tier, type TierDone } from '../src/rate-limit/tier.js'
import { kHolding, kService } from '../src/symbols.js'

async function gatewayRateLimit (app: FastifyInstance): Promise<void> {
  const { config } = app.gatehouse
  const { rateLimit } = config
  const holding = app[kHolding]
  const redisSettings = config.redis
  // ioredis is loaded only by a gateway that uses it: it costs several MB of resident memory.
  const redis = rateLimit.store === 'redis' && redisSettings !== null && hasTiers(config)
    ? await (await import('../src/redis/client.js')).heldRedisClient(holding, 'redis:rate-limit', redisSettings, app.log)
    : null
  const state: RateLimitState = {
    settings: rateLimit,
    redis,
    keyPrefix: config.redis?.keyPrefix ?? '',
    failures: new StoreFailures(rateLimit.failurePolicy, app.log),
    holding
  }
  app.decorate(kRateLimit, state)
  if (rateLimit.perIp === null) return

  // perIp.allow holds addresses and CIDRs only (validated): the tier's own address exemption covers it.
  const tier = createTier(state, {
    name: 'ip', namespace: 'ip', max: rateLimit.perIp.max, window: rateLimit.perIp.window, key: clientIpKey, exemptIp: exemptAddresses(rateLimit.perIp.allow)
  })
  const adminPrefix = config.adminPrefix
  app.addHook('onRequest', function limitPerClientIp (request: FastifyRequest, reply: FastifyReply, done: TierDone) {
    if (isAdminEndpoint(request, adminPrefix)) {
      done()
      return
    }
    countRequest(tier, request, reply, done)
  })
}

function hasTiers (config: GatewayConfig): boolean {
  return config.rateLimit.perIp !== null || config.services.some((service) => service.rateLimit !== null)
}

/** A route of the admin scope: not a service, not a 404 (a probe below the admin prefix is still counted). */
function isAdminEndpoint (request: FastifyRequest, adminPrefix: string): boolean {
  if (request[kService] !== undefined || request.is404) return false
  const route = request.routeOptions.url ?? ''
  return route === adminPrefix || route.startsWith(adminPrefix + '/')
}

export interface ServiceRateLimitOptions {
  readonly service: ResolvedService
}

interface RouteTier {
  readonly matches: RouteTest
  readonly tier: Tier
}

async function serviceRateLimitTiers (scope: FastifyInstance, { service }: ServiceRateLimitOptions): Promise<void> {
  const settings = service.rateLimit
  if (settings === null) return
  const key = callerKeyFor(settings.key)
  const exempt = exemptKeys(settings.key, settings.allow)
  const exemptIp = exemptAddresses(settings.allow)
  const state = scope[kRateLimit]
  const serviceTier = createTier(state, {
    name: 'user', namespace: `service:${service.name}:user`, max: settings.max, window: settings.window, key, exempt, exemptIp
  })
  const routeTiers: RouteTier[] = []
  for (const [index, route] of settings.routes.entries()) {
    const name = routeTierName(route.match, index, settings.routes.map((other) => other.match))
    routeTiers.push({
      matches: compileRouteMatch(route.match),
      tier: createTier(state, { name, namespace: `service:${service.name}:${name}`, max: route.max, window: route.window, key, exempt, exemptIp })
    })
  }
  const prefixLength = service.prefix === '/' ? 0 : service.prefix.length
  if (routeTiers.length === 0) {
    scope.addHook('onRequest', function limitServiceCallers (request: FastifyRequest, reply: FastifyReply, done: TierDone) {
      countRequest(serviceTier, request, reply, done)
    })
    return
  }
  scope.addHook('onRequest', function limitServiceAndRouteCallers (request: FastifyRequest, reply: FastifyReply, done: TierDone) {
    const path = normalizedPathBelowPrefix(request.url, prefixLength)
    const matching = [serviceTier]
    for (const route of routeTiers) if (route.matches(request.method, path)) matching.push(route.tier)
    countInTurn(matching, 0, request, reply, done)
  })
}

/** Counts the request in each tier in turn, stopping at the first refusal. */
function countInTurn (tiers: readonly Tier[], index: number, request: FastifyRequest, reply: FastifyReply, done: TierDone): void {
  const tier = tiers[index]
  if (tier === undefined) {
    done()
    return
  }
  countRequest(tier, request, reply, (error) => {
    if (error !== undefined) done(error)
    else countInTurn(tiers, index + 1, request, reply, done)
  })
}

/** "route:/search", with the methods when set ("route:/search:POST"), and the index when two would share a name. */
function routeTierName (match: RouteMatchSettings, index: number, all: readonly RouteMatchSettings[]): string {
  const name = routeName(match)
  return all.filter((other) => routeName(other) === name).length > 1 ? `${name}#${index}` : name
}

function routeName ({ path, methods }: RouteMatchSettings): string {
  return `route:${path}${methods === null ? '' : ':' + methods.join(',')}`
}

/** `GET <adminPrefix>/rate-limit`: the store in use, its state and the requests it failed. */
export async function rateLimitStatusEndpoint (this: FastifyInstance): Promise<RateLimitStatus> {
  return rateLimitStatus(this[kRateLimit])
}

export default fp(gatewayRateLimit, { name: 'gatehouse-rate-limit', fastify: '5.x', dependencies: ['gatehouse-observability'] })

export const serviceRateLimit = fp(serviceRateLimitTiers, {
  name: 'gatehouse-service-rate-limit', fastify: '5.x', dependencies: ['gatehouse-rate-limit']
})
