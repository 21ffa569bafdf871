/** Gatehouse's additions to Fastify's types (declaration merging, as the @fastify plugins do). */
import type { GatewayConfig, ResolvedService } from './config/types.js'
import type { Principal } from './auth/principal.js'
import type { KeyRing } from './auth/key-ring.js'
import type { UpstreamPool } from './upstream/pool.js'
import type { Holding } from './reload/carryover.js'
import type { kAnswerUpstreamFault, kBytesAtStart, kHolding, kKeyRing, kPrincipal, kService, kUpstream, kUpstreamPools } from './symbols.js'

export interface GatewayState {
  readonly config: GatewayConfig
  /** Set when shutdown begins: readyz answers 503 and new requests are refused. */
  draining: boolean
}

declare module 'fastify' {
  interface FastifyInstance {
    gatehouse: GatewayState
    /** Present when gateway.auth is configured (plugins/auth.ts). */
    [kKeyRing]?: KeyRing
    [kUpstreamPools]: Map<string, UpstreamPool>
    [kHolding]: Holding
  }
  interface FastifyRequest {
    /**
     * The service whose scope routed this request (undefined outside any service: 404s, admin routes).
     * A getter on the scope's Request prototype: no per-request work (see src/service-scope.ts).
     */
    [kService]?: ResolvedService
    [kUpstream]: string | null
    [kBytesAtStart]: number
    /** Set by the auth plugin once a token is verified; null for anonymous requests. */
    [kPrincipal]: Principal | null
  }
  interface FastifyReply {
    /** Set on the replies of a service's proxy routes (plugins/proxy.ts). */
    [kAnswerUpstreamFault]?: (reply: FastifyReply, failure: { error: Error }) => void
  }
}
