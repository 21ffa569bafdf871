/**
 * One encapsulated Fastify scope per service: its policies first (IP lists, CORS, body limit), then the team's own plugins named in
 * services.json, then the proxy — so every hook registered before the proxy routes applies to them
 * (hooks attach to routes at registration; design.md §4 "Hook order").
 */
import { stat } from 'node:fs/promises'
import { pathToFileURL } from 'node:url'
import type { FastifyInstance, FastifyPluginAsync, FastifyPluginCallback } from 'fastify'
import type { ResolvedService } from './config/types.js'
import { forwardingContext, gatewayControlledFields, type ForwardingContext, type PeerTrust } from './proxy/headers.js'
import { upstreamHeaderDropper } from './proxy/callbacks.js'
import type { ResponseCache } from './cache/response-cache.js'
import { kResponseStore } from './cache/shared-store.js'
import { kService } from './symbols.js'
import bodyLimit from '../plugins/body-limit.js'
import cors from '../plugins/cors.js'
import ipAccess from '../plugins/ip-access.js'
import { serviceRateLimit } from '../plugins/rate-limit.js'
import { serviceProxy } from '../plugins/proxy.js'
import { serviceCompression } from '../plugins/compress.js'
import { ResponseCompressor } from './compression/compressor.js'

export interface ServiceScopeOptions {
  readonly service: ResolvedService
  readonly isTrustedPeer: PeerTrust
  readonly upgradesReachRoutes: boolean
}

export async function serviceScope (scope: FastifyInstance, { service, isTrustedPeer, upgradesReachRoutes }: ServiceScopeOptions): Promise<void> {
  // Requests routed in this scope are built from the scope's own Request class, so the service is a
  // prototype getter: cheaper than reading route config through request.routeOptions on every request.
  scope.decorateRequest(kService, { getter: () => service })
  if (service.ipAccess !== null) await scope.register(ipAccess, { settings: service.ipAccess })
  if (service.cors !== null) await scope.register(cors, { settings: service.cors })
  if (service.auth !== null) await scope.register((await import('../plugins/auth.js')).serviceAuthPlugin, { service })
  if (service.rateLimit !== null) await scope.register(serviceRateLimit, { service })
  const { config } = scope.gatehouse
  const forwarding = forwardingContext(service, isTrustedPeer, config.rateLimit)
  const compressor = service.compression ? new ResponseCompressor(config.compression) : null
  if (compressor !== null) await scope.register(serviceCompression, { compressor })
  await scope.register(bodyLimit, { limit: service.bodyLimit })
  for (const path of service.plugins) {
    await scope.register(await loadServicePlugin(service, path))
  }
  // After the team's plugins: their onRequest hooks (tenant checks, header rules) run before a hit is served.
  let cache: ResponseCache | null = null
  if (service.cache !== null) {
    // Loaded only when a service caches, as the store's plugin is (src/gateway.ts).
    const { serviceCache } = await import('../plugins/cache.js')
    cache = await responseCache(scope, service, forwarding, compressor)
    await scope.register(serviceCache, { cache })
  }
  await scope.register(serviceProxy, { service, forwarding, upgradesReachRoutes, delivery: { compressor, cache } })
}

async function responseCache (scope: FastifyInstance, service: ResolvedService, forwarding: ForwardingContext, compressor: ResponseCompressor | null): Promise<ResponseCache> {
  const [{ ResponseCache }, { CREDENTIAL_FIELDS }] = await Promise.all([import('./cache/response-cache.js'), import('./cache/request-view.js')])
  const shared = scope[kResponseStore]
  if (shared === undefined) throw new Error('the response store is registered at the root when a service caches')
  const { cache } = scope.gatehouse.config
  return new ResponseCache({
    service,
    store: shared.store,
    memory: shared.memory,
    maxObjectBytes: cache.maxObjectBytes,
    collapseTimeout: cache.collapseTimeout,
    compressor,
    refreshSecret: shared.refreshSecret,
    dropUpstreamHeaders: upstreamHeaderDropper(forwarding),
    gatewayFields: new Set([...gatewayControlledFields(forwarding), ...CREDENTIAL_FIELDS])
  })
}

/**
 * The plugin module as its file is now: Node keeps an imported module for the life of the process, so a
 * reload after the file was edited imports it under a new URL (its modification time). Modules it imports
 * itself are not re-read; a restart picks those up.
 */
async function loadServicePlugin (service: ResolvedService, path: string): Promise<FastifyPluginAsync | FastifyPluginCallback> {
  const { mtimeMs } = await stat(path)
  const loaded: { default?: unknown } = await import(`${pathToFileURL(path).href}?mtime=${mtimeMs}`)
  if (typeof loaded.default !== 'function') {
    throw new TypeError(`Plugin ${path} of service "${service.name}" must export a Fastify plugin function as its default export`)
  }
  return loaded.default as FastifyPluginAsync
}
