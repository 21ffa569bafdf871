/**
 * The resolved configuration: services.json after env substitution, validation and defaults.
 * Every field is present, so code inside the gateway trusts it and never re-checks (style.md).
 */
import type { ServiceEntry, ServicesFile } from './schema.js'

type LogLevel = NonNullable<NonNullable<ServicesFile['gateway']>['logLevel']>

export interface ResolvedUpstream {
  /** Origin only, e.g. `http://127.0.0.1:3001`. */
  readonly url: string
  readonly weight: number
}

export interface UpstreamTimeoutSettings {
  readonly connect: number
  readonly responseHeaders: number
  readonly idle: number
}

export interface UpstreamTlsSettings {
  readonly verify: boolean
  /** PEM text of the CA bundle, read at load time. */
  readonly ca?: string
  readonly servername?: string
}

/** Client IP lists; an empty allow list allows everyone. */
export interface IpAccessSettings {
  readonly allow: readonly string[]
  readonly deny: readonly string[]
}

export interface ResolvedService {
  readonly name: ServiceEntry['name']
  readonly prefix: string
  readonly rewritePrefix: string
  readonly upstreams: readonly ResolvedUpstream[]
  readonly timeouts: UpstreamTimeoutSettings
  readonly websocket: boolean
  /** Extra attempts after a connection failure for GET/HEAD/OPTIONS; 0 = off. */
  readonly retryAttempts: number
  /** 'first-upstream' when load balancing is off: the first upstream takes every request. */
  readonly loadBalancing: 'round-robin' | 'first-upstream'
  /** The lists this service enforces (the gateway's merged with its own), or null when none apply. */
  readonly ipAccess: IpAccessSettings | null
  readonly tls: UpstreamTlsSettings
  readonly bodyLimit: number
  /** Absolute paths of the service's own Fastify plugins. */
  readonly plugins: readonly string[]
}

export interface GatewayConfig {
  readonly listen: { readonly host: string, readonly port: number }
  readonly trustedProxies: readonly string[]
  /** The gateway-wide lists, enforced on paths outside any service (404s) and merged into each service's. */
  readonly ipAccess: IpAccessSettings | null
  readonly limits: { readonly bodyBytes: number, readonly headerBytes: number }
  readonly timeouts: { readonly requestHeaders: number, readonly keepAlive: number, readonly drain: number }
  readonly logLevel: LogLevel
  readonly adminPrefix: string
  readonly services: readonly ResolvedService[]
  /** Absolute path of the file this came from, or null when built in code. */
  readonly source: string | null
}
