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
  /** Used only while every other replica is unavailable. */
  readonly backup: boolean
}

export type HashKeySettings = 'ip' | { readonly header: string } | { readonly cookie: string }

export interface LoadBalancingSettings {
  /** 'first-upstream' when load balancing is off: the first upstream takes every request. */
  readonly strategy: 'round-robin' | 'least-request' | 'consistent-hash' | 'first-upstream'
  /** What consistent hashing keys on (null for the other strategies). */
  readonly hashOn: HashKeySettings | null
  /** Milliseconds over which a recovered replica's share ramps up; 0 = off. */
  readonly slowStart: number
}

export interface OutlierDetectionSettings {
  readonly consecutiveFailures: number
  readonly baseEjectionTime: number
  readonly maxEjectionTime: number
  readonly maxEjectionPercent: number
  readonly halfOpenRequests: number
}

export interface HealthCheckSettings {
  readonly path: string
  readonly interval: number
  readonly timeout: number
  /** Passing statuses; null = any 2xx or 3xx. */
  readonly expectedStatuses: readonly number[] | null
  readonly healthyThreshold: number
  readonly unhealthyThreshold: number
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
  /** PEM texts of the client certificate and key presented to upstreams that ask for one (mTLS). */
  readonly clientCertificate?: { readonly cert: string, readonly key: string }
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
  /** Extra attempts (each on another replica) after a connection failure for GET/HEAD/OPTIONS; 0 = off. */
  readonly retryAttempts: number
  /** Retries allowed as a share of the service's recent requests. */
  readonly retryBudgetPercent: number
  readonly loadBalancing: LoadBalancingSettings
  /** Passive outlier detection, or null when turned off. */
  readonly outlierDetection: OutlierDetectionSettings | null
  readonly healthCheck: HealthCheckSettings | null
  readonly maxPendingRequests: number
  /** The lists this service enforces (the gateway's merged with its own), or null when none apply. */
  readonly ipAccess: IpAccessSettings | null
  readonly tls: UpstreamTlsSettings
  /** JWT authentication and authorization, or null when the service is open. */
  readonly auth: ServiceAuthSettings | null
  /** The per-caller tier, or null when off. */
  readonly rateLimit: ServiceRateLimitSettings | null
  readonly cors: CorsSettings | null
  /** The RFC 9111 cache in front of the service, or null when off. */
  readonly cache: ServiceCacheSettings | null
  /** Compress responses when worth it (gateway.compression decides how). */
  readonly compression: boolean
  readonly bodyLimit: number
  /** Absolute paths of the service's own Fastify plugins. */
  readonly plugins: readonly string[]
}

export interface GatewayConfig {
  readonly listen: { readonly host: string, readonly port: number }
  readonly trustedProxies: readonly string[]
  /** The gateway-wide lists, enforced on paths outside any service (404s) and merged into each service's. */
  readonly ipAccess: IpAccessSettings | null
  /** Token keys and claim rules, or null when no service uses auth. */
  readonly auth: AuthKeySettings | null
  readonly rateLimit: GatewayRateLimitSettings
  readonly redis: RedisSettings | null
  readonly cache: CacheStoreSettings
  readonly compression: CompressionSettings
  readonly limits: { readonly bodyBytes: number, readonly headerBytes: number }
  readonly timeouts: { readonly requestHeaders: number, readonly keepAlive: number, readonly drain: number }
  readonly logLevel: LogLevel
  readonly adminPrefix: string
  /** HTTPS on the gateway's listener, or null for plain HTTP. */
  readonly tls: ListenerTlsSettings | null
  readonly services: readonly ResolvedService[]
  /** Absolute path of the file this came from, or null when built in code. */
  readonly source: string | null
}

/** Which requests of a service a rule covers: `path` below the prefix ("/x" exact, "/x/*" subtree), methods or all. */
export interface RouteMatchSettings {
  readonly path: string
  readonly methods: readonly string[] | null
}

export type ClaimValue = string | number | boolean

export interface AuthRequirements {
  readonly scopes: readonly string[]
  /** Claim name → accepted values. */
  readonly claims: Readonly<Record<string, readonly ClaimValue[]>>
}

/** gateway.auth resolved: key material read, defaults applied. */
export interface AuthKeySettings {
  readonly secrets: ReadonlyArray<{ readonly secret: string, readonly algorithms: readonly string[], readonly kid: string | null }>
  readonly publicKeys: ReadonlyArray<{ readonly pem: string, readonly kid: string | null, readonly file: string }>
  readonly jwks: ReadonlyArray<{ readonly url: string, readonly issuers: readonly string[], readonly refreshInterval: number, readonly cooldown: number, readonly timeout: number }>
  readonly issuers: readonly string[] | null
  readonly audiences: readonly string[] | null
  readonly clockTolerance: number
  readonly requireExp: boolean
  readonly maxTokenBytes: number
  readonly cacheSize: number
}

export interface ServiceAuthSettings extends AuthRequirements {
  readonly mode: 'required' | 'optional'
  readonly public: readonly RouteMatchSettings[]
  readonly rules: ReadonlyArray<AuthRequirements & { readonly match: RouteMatchSettings }>
  /** Accepted `aud` values (the service's own, else the gateway's), or null when unchecked. */
  readonly audiences: readonly string[] | null
  /** [header name (lower case), claim name] pairs. */
  readonly identityHeaders: ReadonlyArray<readonly [string, string]>
  readonly forwardAuthorization: boolean
}

export interface RedisSettings {
  readonly url: string
  readonly keyPrefix: string
  readonly connectTimeout: number
  readonly commandTimeout: number
}

export interface LimitSettings {
  readonly max: number
  /** Window length in milliseconds. */
  readonly window: number
}

export interface GatewayRateLimitSettings {
  readonly store: 'memory' | 'redis'
  readonly failurePolicy: 'open' | 'closed'
  /** The per-IP tier that runs before auth, or null when off. */
  readonly perIp: (LimitSettings & { readonly allow: readonly string[] }) | null
  readonly legacyHeaders: boolean
  readonly maxKeys: number
}

export type RateLimitKey = 'subject' | 'ip' | { readonly header: string }

export interface ServiceRateLimitSettings extends LimitSettings {
  readonly key: RateLimitKey
  readonly allow: readonly string[]
  readonly routes: ReadonlyArray<LimitSettings & { readonly match: RouteMatchSettings }>
}

export interface CorsSettings {
  readonly origins: readonly string[]
  readonly methods: readonly string[]
  /** null: echo what the preflight asks for. */
  readonly allowedHeaders: readonly string[] | null
  readonly exposedHeaders: readonly string[]
  readonly credentials: boolean
  readonly maxAge: number | null
}

/** gateway.tls resolved: the pair read and checked at load, paths kept for reload. */
export interface ListenerTlsSettings {
  /** Absolute paths of the certificate and key files (watched when `reload` is on). */
  readonly certFile: string
  readonly keyFile: string
  /** PEM texts read at load time. */
  readonly cert: string
  readonly key: string
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3'
  readonly http2: boolean
  /** The plain-HTTP listener answering 308 to https://, or null. A null host means the HTTPS listener's. */
  readonly redirectHttp: { readonly port: number, readonly host: string | null } | null
  /** The Strict-Transport-Security value, or null when off. */
  readonly hsts: string | null
  readonly reload: boolean
}

export interface CacheStoreSettings {
  readonly store: 'memory' | 'redis'
  readonly maxBytes: number
  readonly maxObjectBytes: number
  readonly collapseTimeout: number
  /** Bearer token of the purge endpoint, or null when there is none. */
  readonly purgeToken: string | null
}

export interface ServiceCacheSettings {
  readonly partitionBySubject: boolean
}

export type CompressionEncoding = 'zstd' | 'br' | 'gzip' | 'deflate'

export interface CompressionSettings {
  readonly threshold: number
  /** Offered encodings, in the server's order of preference. */
  readonly encodings: readonly CompressionEncoding[]
  readonly brotliQuality: number
  readonly gzipLevel: number
}
