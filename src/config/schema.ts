/**
 * The one schema of services.json. It is the source of:
 *  - the TypeScript types of the file (`ServicesFile`, via TypeBox's `Static`),
 *  - the runtime validator (`src/config/validate.ts` compiles it with Ajv),
 *  - the editor schema `services.schema.json` (written by `npm run schema`, checked by a drift test).
 * Defaults live here as `default` keywords (documentation for editors) and are applied in `resolve.ts`.
 */
import { Type, type Static } from '@sinclair/typebox'
import { DEFAULTS } from './defaults.js'
import { AddressList, Milliseconds, Policy, PREFIX_PATTERN } from './schema-kit.js'
import { GatewayAccess, ServiceAccess } from './access-schema.js'
import { GatewayDelivery, ServiceDelivery } from './delivery-schema.js'
import { GatewayTls } from './listener-schema.js'
import { HealthCheckOptions, LoadBalancingOptions, OutlierDetectionOptions, RetryOptions } from './resilience-schema.js'

export { PREFIX_PATTERN }

export const UpstreamUrl = Type.String({
  pattern: '^https?://[^/?#\\s]+/?$',
  description: 'Origin of one upstream replica: http(s)://host:port, no path (use rewritePrefix for that).',
  examples: ['http://127.0.0.1:3001', 'http://users:3000']
})

export const UpstreamObject = Type.Object({
  url: UpstreamUrl,
  weight: Type.Optional(Type.Integer({
    minimum: 1,
    maximum: 1000,
    default: 1,
    description: 'Relative share of requests this replica receives.'
  })),
  backup: Type.Optional(Type.Boolean({
    default: false,
    description: 'Used only while every replica without this flag is down, ejected or unhealthy.'
  }))
}, { additionalProperties: false })

export const Upstream = Type.Union([UpstreamUrl, UpstreamObject], {
  description: 'An upstream replica: a URL string, or an object with `url` and options such as `weight`.'
})

export const UpstreamTimeouts = Type.Object({
  connect: Type.Optional(Milliseconds('Time allowed to open a connection to an upstream', DEFAULTS.upstreamTimeouts.connect)),
  responseHeaders: Type.Optional(Milliseconds('Time allowed for the upstream to send its response headers', DEFAULTS.upstreamTimeouts.responseHeaders)),
  idle: Type.Optional(Milliseconds('Longest pause allowed between two body chunks from the upstream', DEFAULTS.upstreamTimeouts.idle))
}, { additionalProperties: false, description: 'Upstream timeouts; each one ends in 504 when exceeded.' })

export const UpstreamTls = Type.Object({
  ca: Type.Optional(Type.String({
    minLength: 1,
    description: 'PEM file of the CA that signs the upstream certificates (relative to services.json).'
  })),
  servername: Type.Optional(Type.String({ minLength: 1, description: 'SNI name sent to the upstream.' })),
  cert: Type.Optional(Type.String({ minLength: 1, description: 'PEM client certificate presented to upstreams that require one (mTLS; relative to services.json). Needs `key`.' })),
  key: Type.Optional(Type.String({ minLength: 1, description: 'PEM private key of the client certificate, unencrypted (relative to services.json). Needs `cert`.' })),
  verify: Type.Optional(Type.Boolean({
    default: true,
    description: 'Verify upstream certificates. Turning this off accepts any certificate; only for local testing.'
  }))
}, { additionalProperties: false, description: 'TLS towards https:// upstreams.' })

export const IpAccessOptions = Type.Object({
  allow: AddressList('Only clients in these CIDRs (or addresses) may call; empty or absent allows everyone.'),
  deny: AddressList('Clients in these CIDRs (or addresses) get 403, even when also allowed.')
}, { additionalProperties: false, description: 'Client IP allow and deny lists (403). The client IP honours gateway.trustedProxies.' })

export const Service = Type.Object({
  name: Type.String({
    pattern: '^[a-z0-9][a-z0-9-]{0,62}$',
    description: 'Unique service name: lower-case letters, digits and dashes.'
  }),
  prefix: Type.String({
    pattern: PREFIX_PATTERN,
    description: 'Public path prefix, matched on a segment boundary (/users matches /users/42, never /usersX).'
  }),
  upstreams: Type.Array(Upstream, {
    maxItems: 256,
    description: 'Replicas of the service. Several replicas are load balanced; none answers 503.'
  }),
  rewritePrefix: Type.Optional(Type.String({
    pattern: PREFIX_PATTERN,
    default: '/',
    description: 'Path the prefix is replaced with upstream. Default "/": /users/42 reaches the upstream as /42.'
  })),
  timeouts: Type.Optional(UpstreamTimeouts),
  websocket: Type.Optional(Type.Boolean({ default: false, description: 'Proxy WebSocket upgrades to this service.' })),
  retries: Type.Optional(Policy(RetryOptions, 'Retry idempotent requests after connection failures. Off by default.')),
  ipAccess: Type.Optional(Policy(IpAccessOptions,
    'IP lists for this service: its deny list adds to the gateway\'s, its allow list replaces it; false skips the gateway\'s lists.')),
  loadBalancing: Type.Optional(Policy(LoadBalancingOptions,
    'Spread requests over the upstreams (true, the default, or options); false sends every request to the first upstream.')),
  outlierDetection: Type.Optional(Policy(OutlierDetectionOptions,
    'Passive health: replicas that keep failing are ejected for a while, then probed (half-open). On by default; false turns it off.')),
  healthCheck: Type.Optional(HealthCheckOptions),
  maxPendingRequests: Type.Optional(Type.Integer({
    minimum: 1,
    default: DEFAULTS.maxPendingRequests,
    description: 'Requests of this service in flight at once; more are answered 503 with Retry-After at once.'
  })),
  tls: Type.Optional(UpstreamTls),
  ...ServiceAccess,
  ...ServiceDelivery,
  bodyLimit: Type.Optional(Type.Integer({
    minimum: 0,
    description: 'Largest request body in bytes for this service; overrides gateway.limits.bodyBytes.'
  })),
  plugins: Type.Optional(Type.Array(Type.String({ minLength: 1 }), {
    description: 'Fastify plugins registered in this service\'s scope after the built-in policies (paths relative to services.json).'
  }))
}, { additionalProperties: false })

export const ListenOptions = Type.Object({
  host: Type.Optional(Type.String({ minLength: 1, default: DEFAULTS.listen.host, description: 'Interface to listen on.' })),
  port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, default: DEFAULTS.listen.port, description: 'TCP port (0 picks a free one).' }))
}, { additionalProperties: false, description: 'Where the gateway listens (the CLI\'s --host/--port override it).' })

export const GatewayLimits = Type.Object({
  bodyBytes: Type.Optional(Type.Integer({ minimum: 0, default: DEFAULTS.limits.bodyBytes, description: 'Largest request body in bytes (413 above it), declared or chunked.' })),
  headerBytes: Type.Optional(Type.Integer({ minimum: 1024, maximum: 1_048_576, default: DEFAULTS.limits.headerBytes, description: 'Largest request head in bytes (431 above it).' }))
}, { additionalProperties: false, description: 'Request size limits.' })

export const GatewayTimeouts = Type.Object({
  // Node refuses a head timeout above its 300 s whole-request timeout.
  requestHeaders: Type.Optional(Milliseconds('Time a client has to send its request headers', DEFAULTS.gatewayTimeouts.requestHeaders, 300_000)),
  keepAlive: Type.Optional(Milliseconds('How long an idle client connection is kept open', DEFAULTS.gatewayTimeouts.keepAlive)),
  drain: Type.Optional(Milliseconds('On shutdown, how long in-flight requests may take to finish', DEFAULTS.gatewayTimeouts.drain)),
  upstream: Type.Optional(UpstreamTimeouts)
}, { additionalProperties: false, description: 'Client-side timeouts, and the upstream timeouts every service inherits.' })

export const LogLevel = Type.Union(
  ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
  { default: DEFAULTS.logLevel, description: 'Log level of the gateway.' }
)

export const GatewaySection = Type.Object({
  listen: Type.Optional(ListenOptions),
  trustedProxies: Type.Optional(Type.Array(Type.String({ minLength: 1 }), {
    description: 'CIDRs (or addresses) of proxies in front of the gateway whose X-Forwarded-* headers are believed.',
    examples: [['10.0.0.0/8', '::1']]
  })),
  ipAccess: Type.Optional(IpAccessOptions),
  ...GatewayAccess,
  ...GatewayDelivery,
  limits: Type.Optional(GatewayLimits),
  timeouts: Type.Optional(GatewayTimeouts),
  logLevel: Type.Optional(LogLevel),
  adminPrefix: Type.Optional(Type.String({
    pattern: PREFIX_PATTERN,
    default: DEFAULTS.adminPrefix,
    description: 'Prefix of the gateway\'s own endpoints (healthz, readyz). Must not collide with a service prefix.'
  })),
  tls: Type.Optional(GatewayTls)
}, { additionalProperties: false, description: 'Settings of the gateway itself; every key is optional.' })

export const ServicesFileSchema = Type.Object({
  $schema: Type.Optional(Type.String({ description: 'Path or URL of this schema, for editor completion.' })),
  gateway: Type.Optional(GatewaySection),
  services: Type.Array(Service, { description: 'The fleet: one entry per service.' })
}, {
  additionalProperties: false,
  title: 'Gatehouse services.json'
})

export type ServicesFile = Static<typeof ServicesFileSchema>
export type ServiceEntry = Static<typeof Service>
export type UpstreamEntry = Static<typeof Upstream>
export type GatewayEntry = Static<typeof GatewaySection>
