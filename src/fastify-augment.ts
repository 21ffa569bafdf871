/** Gatehouse's additions to Fastify's types (declaration merging, as the @fastify plugins do). */
import type { GatewayConfig, ResolvedService } from './config/types.js'
import type { ServerResponse } from 'node:http'
import type { kBytesAtStart, kClientResponse, kUpstream } from './symbols.js'

export interface GatewayState {
  readonly config: GatewayConfig
  /** Set when shutdown begins: readyz answers 503 and new requests are refused. */
  draining: boolean
}

declare module 'fastify' {
  interface FastifyInstance {
    gatehouse: GatewayState
  }
  interface FastifyContextConfig {
    /** The service a route belongs to; the access log and policies read it from the route config. */
    gatehouseService?: ResolvedService
  }
  interface FastifyRequest {
    [kUpstream]: string | null
    [kBytesAtStart]: number
    [kClientResponse]: ServerResponse | null
  }
}
