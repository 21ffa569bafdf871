/**
 * One encapsulated Fastify scope per service: its policies first (IP lists, CORS, body limit), then the team's own plugins named in
 * services.json, then the proxy — so every hook registered before the proxy routes applies to them
 * (hooks attach to routes at registration; design.md §4 "Hook order").
 */
import { pathToFileURL } from 'node:url'
import type { FastifyInstance, FastifyPluginAsync, FastifyPluginCallback } from 'fastify'
import type { ResolvedService } from './config/types.js'
import type { PeerTrust } from './proxy/headers.js'
import { kService } from './symbols.js'
import { serviceAuthPlugin } from '../plugins/auth.js'
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
  if (service.auth !== null) await scope.register(serviceAuthPlugin, { service })
  if (service.rateLimit !== null) await scope.register(serviceRateLimit, { service })
  const compressor = service.compression ? new ResponseCompressor(scope.gatehouse.config.compression) : null
  if (compressor !== null) await scope.register(serviceCompression, { compressor })
  await scope.register(bodyLimit, { limit: service.bodyLimit })
  for (const path of service.plugins) {
    await scope.register(await loadServicePlugin(service, path))
  }
  await scope.register(serviceProxy, { service, isTrustedPeer, upgradesReachRoutes, compressor })
}

async function loadServicePlugin (service: ResolvedService, path: string): Promise<FastifyPluginAsync | FastifyPluginCallback> {
  const loaded: { default?: unknown } = await import(pathToFileURL(path).href)
  if (typeof loaded.default !== 'function') {
    throw new TypeError(`Plugin ${path} of service "${service.name}" must export a Fastify plugin function as its default export`)
  }
  return loaded.default as FastifyPluginAsync
}
