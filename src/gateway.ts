/**
 * buildGateway(config): a Fastify instance that never listens by itself (the caller can extend it, inject
 * into it, or listen). The plugin order is fixed here and pinned by tests (design.md §3):
 * root guards → admin endpoints → one encapsulated scope per service (policies, the team's own plugins,
 * then the proxy).
 */
import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http'
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify'
import proxyAddr from 'proxy-addr'
import type { GatewayConfig } from './config/types.js'
import type { GatewayState } from './fastify-augment.js'
import { AccessLogController } from './http/access-log.js'
import { answerClientError } from './http/client-error.js'
import { handleFrameworkError, installErrorHandling } from './http/error-handler.js'
import { requestIdFor } from './http/request-id.js'
import { loggerOptions } from './logging.js'
import type { PeerTrust } from './proxy/headers.js'
import { Carryover } from './reload/carryover.js'
import { serviceScope } from './service-scope.js'
import { kHolding } from './symbols.js'
import { strictTransportSecurity } from './tls/hsts.js'
import { createTlsListener } from './tls/listener.js'
import observability from '../plugins/observability.js'
import security from '../plugins/security.js'
import rateLimit from '../plugins/rate-limit.js'
import { adminEndpoints } from '../plugins/admin.js'
import './fastify-augment.js'

export interface GatewayOptions {
  /** Logger options (default: JSON to stdout at the config's log level, pretty in a terminal); `false` turns logging off. */
  readonly logger?: FastifyServerOptions['logger']
  /** A ready pino-compatible logger to use instead. */
  readonly loggerInstance?: FastifyBaseLogger
  /**
   * Objects shared with the other instances of a reloadable gateway (src/reload/carryover.ts); without it
   * the instance has its own, disposed of when it closes.
   */
  readonly carryover?: Carryover
  /**
   * Where requests come from: a reloadable gateway's shared listener hands this instance its requests
   * through a server that never listens (src/reload/front-door.ts). Without it the instance creates its
   * own listener (HTTP or HTTPS) for `listen()`.
   */
  readonly serverFactory?: (handler: RequestListener) => Server
}

export function buildGateway (config: GatewayConfig, options: GatewayOptions = {}): FastifyInstance {
  const app = Fastify({
    ...(options.loggerInstance
      ? { loggerInstance: options.loggerInstance }
      : { logger: options.logger ?? loggerOptions(config.logLevel) }),
    logController: new AccessLogController(),
    trustProxy: config.trustedProxies.length > 0 ? [...config.trustedProxies] : false,
    bodyLimit: config.limits.bodyBytes,
    requestIdHeader: false,
    genReqId: requestIdFor,
    forceCloseConnections: 'idle',
    return503OnClosing: false,
    clientErrorHandler: answerClientError,
    frameworkErrors: handleFrameworkError,
    serverFactory: options.serverFactory ?? ((handler) => createListener(config, handler))
  })
  const state: GatewayState = { config, draining: false }
  app.decorate('gatehouse', state)
  const holding = (options.carryover ?? new Carryover()).holding()
  app.decorate(kHolding, holding)
  // Registered first on the root, so it runs after every scope's own onClose hooks.
  app.addHook('onClose', async () => { await holding.release() })
  installErrorHandling(app)
  if (config.tls?.hsts != null) app.addHook('onSend', strictTransportSecurity(config.tls.hsts))
  // The gateway never parses bodies: not for 404s, admin routes or services without upstreams either
  // (each proxy scope adds its own pass-through parsers).
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', passBodyThrough)
  app.register(observability)
  app.register(security)
  app.register(rateLimit)
  // Plugins whose libraries only a gateway using them loads (@fastify/jwt; @fastify/caching, http-cache-semantics).
  if (config.auth !== null) app.register(import('../plugins/auth.js').then((auth) => ({ default: auth.authKeysPlugin })), { settings: config.auth })
  if (config.services.some((service) => service.cache !== null)) app.register(import('../plugins/cache.js').then((cache) => ({ default: cache.responseStorePlugin })))
  app.register(adminEndpoints, { prefix: config.adminPrefix })
  const isTrustedPeer = peerTrust(config.trustedProxies)
  const upgradesReachRoutes = config.services.some((service) => service.websocket)
  for (const service of config.services) {
    app.register(serviceScope, { prefix: service.prefix, service, isTrustedPeer, upgradesReachRoutes })
  }
  return app
}

function passBodyThrough (_request: FastifyRequest, payload: IncomingMessage, done: (error: null, body: IncomingMessage) => void): void {
  done(null, payload)
}

/** The HTTP (or HTTPS) listener with the gateway's head-size and head-timeout limits (431 / 408 before any route). */
export function createListener (config: GatewayConfig, handler: RequestListener): Server {
  if (config.tls !== null) return createTlsListener(config, config.tls, handler)
  const server = createServer({
    maxHeaderSize: config.limits.headerBytes,
    headersTimeout: config.timeouts.requestHeaders
  }, handler)
  server.keepAliveTimeout = config.timeouts.keepAlive
  return server
}

function peerTrust (trustedProxies: readonly string[]): PeerTrust {
  if (trustedProxies.length === 0) return () => false
  const trust = proxyAddr.compile([...trustedProxies])
  return (address) => trust(address, 0)
}
