/**
 * The access-control part of services.json (issue 3): who may call a service (JWT auth and scopes), how
 * often (rate limits), and from which browser origins (CORS). Key sources and rate-limit storage are set
 * once under `gateway`; each service says what it requires.
 */
import { Type } from '@sinclair/typebox'
import { DEFAULTS } from './defaults.js'
import { AddressList, HttpMethod, Milliseconds, Policy, RouteMatch } from './schema-kit.js'

const HS_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const

export const HmacSecret = Type.Object({
  secret: Type.String({
    minLength: 32,
    description: 'Shared secret for HS256/384/512 tokens, at least 32 bytes. Write it as ${ENV_VAR}, never inline.',
    examples: ['${JWT_SECRET}']
  }),
  algorithms: Type.Optional(Type.Array(Type.Union(HS_ALGORITHMS.map((alg) => Type.Literal(alg))), {
    minItems: 1, default: [...HS_ALGORITHMS], description: 'HMAC algorithms this secret verifies.'
  })),
  kid: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'Key id; when set, only tokens with this `kid` use the secret.' }))
}, { additionalProperties: false })

export const PublicKeyFile = Type.Object({
  file: Type.String({ minLength: 1, description: 'PEM file of an RSA, EC (P-256/384/521) or Ed25519 public key (relative to services.json).' }),
  kid: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'Key id; when set, only tokens with this `kid` use the key.' }))
}, { additionalProperties: false, description: 'A public key; its type decides the algorithms it verifies (RS*/PS*, ES*, EdDSA).' })

export const JwksSource = Type.Object({
  url: Type.String({ pattern: '^https?://', description: 'URL of the JSON Web Key Set.', examples: ['https://idp.example.com/.well-known/jwks.json'] }),
  issuers: Type.Array(Type.String({ minLength: 1 }), {
    minItems: 1,
    description: 'Only tokens whose `iss` is one of these are verified with this set (the token never chooses the URL).'
  }),
  refreshInterval: Type.Optional(Milliseconds('How often the set is refetched in the background', DEFAULTS.auth.jwksRefreshInterval)),
  cooldown: Type.Optional(Milliseconds('Least time between two refetches caused by tokens with an unknown `kid`', DEFAULTS.auth.jwksCooldown)),
  timeout: Type.Optional(Milliseconds('Time allowed for one fetch of the set', DEFAULTS.auth.jwksTimeout))
}, { additionalProperties: false })

export const GatewayAuth = Type.Object({
  secrets: Type.Optional(Type.Array(HmacSecret, { description: 'HMAC secrets (HS256/384/512).' })),
  publicKeys: Type.Optional(Type.Array(PublicKeyFile, { description: 'PEM public keys.' })),
  jwks: Type.Optional(Type.Array(JwksSource, { description: 'Remote key sets, cached and refreshed; an unknown `kid` triggers a refetch at most once per cooldown.' })),
  issuers: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'When set, `iss` is required and must be one of these.' })),
  audiences: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'When set, `aud` is required and must contain one of these (a service may set its own).' })),
  clockTolerance: Type.Optional(Type.Integer({ minimum: 0, maximum: 300_000, default: DEFAULTS.auth.clockTolerance, description: 'Allowed clock skew for `exp`, `nbf` and `iat` (milliseconds).' })),
  requireExp: Type.Optional(Type.Boolean({ default: true, description: 'Refuse tokens without `exp`.' })),
  maxTokenBytes: Type.Optional(Type.Integer({ minimum: 256, maximum: 65_536, default: DEFAULTS.auth.maxTokenBytes, description: 'Longest accepted token; longer ones get 401 without being parsed.' })),
  cacheSize: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, default: DEFAULTS.auth.cacheSize, description: 'Verified tokens remembered (until their `exp`) so a repeat costs no signature check; 0 turns it off.' }))
}, { additionalProperties: false, description: 'Where token keys come from, and the claim rules every service shares.' })

const ClaimValue = Type.Union([Type.String(), Type.Number(), Type.Boolean()])
const ClaimMatches = Type.Record(Type.String({ minLength: 1 }), Type.Union([ClaimValue, Type.Array(ClaimValue, { minItems: 1 })]), {
  description: 'Claims the token must carry: a value, or a list of accepted values (a list-valued claim matches when it contains one).',
  examples: [{ tenant: 'acme' }, { role: ['admin', 'owner'] }]
})
const Scopes = Type.Array(Type.String({ pattern: '^[\\x21\\x23-\\x5B\\x5D-\\x7E]+$' }), {
  description: 'Scopes the token must all carry (in `scope`, space-separated, or `scp`, a list).', examples: [['orders:read']]
})

export const AuthRule = Type.Object({
  ...RouteMatch,
  scopes: Type.Optional(Scopes),
  claims: Type.Optional(ClaimMatches)
}, { additionalProperties: false, description: 'Extra requirements for some paths and methods (403 when unmet).' })

export const PublicRoute = Type.Object(RouteMatch, { additionalProperties: false, description: 'Paths and methods that skip authentication.' })

export const ServiceAuth = Type.Object({
  mode: Type.Optional(Type.Union([Type.Literal('required'), Type.Literal('optional')], {
    default: 'required', description: '"required": no valid token, 401. "optional": anonymous calls pass, a token that is sent must be valid.'
  })),
  public: Type.Optional(Type.Array(PublicRoute, { description: 'Routes that need no token (health checks, public lists).' })),
  scopes: Type.Optional(Scopes),
  claims: Type.Optional(ClaimMatches),
  rules: Type.Optional(Type.Array(AuthRule, { description: 'Per-route requirements on top of the service-wide ones; every matching rule applies.' })),
  audiences: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'Accepted `aud` values for this service, instead of gateway.auth.audiences.' })),
  identityHeaders: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z0-9-]+$' }), Type.String({ minLength: 1 }), {
    default: DEFAULTS.auth.identityHeaders,
    description: 'Request headers set from verified claims ("scope" joins scope/scp with spaces). Client-sent copies are always removed.',
    examples: [{ 'x-user-id': 'sub', 'x-user-scopes': 'scope', 'x-tenant': 'tenant' }]
  })),
  forwardAuthorization: Type.Optional(Type.Boolean({ default: false, description: 'Pass the client\'s Authorization header to the upstream.' }))
}, { additionalProperties: false })

export const RedisOptions = Type.Object({
  url: Type.String({ pattern: '^rediss?://', description: 'Redis URL.', examples: ['${REDIS_URL:-redis://127.0.0.1:6379}'] }),
  keyPrefix: Type.Optional(Type.String({ default: DEFAULTS.redis.keyPrefix, description: 'Prefix of every key Gatehouse writes.' })),
  connectTimeout: Type.Optional(Milliseconds('Time allowed to connect', DEFAULTS.redis.connectTimeout, 60_000)),
  commandTimeout: Type.Optional(Milliseconds('Time allowed for one command; a request never waits longer for Redis', DEFAULTS.redis.commandTimeout, 10_000))
}, { additionalProperties: false, description: 'Shared state for several gateway processes (rate-limit counters).' })

const Limit = {
  max: Type.Integer({ minimum: 1, description: 'Requests allowed per window.' }),
  window: Type.Optional(Milliseconds('Length of the window', DEFAULTS.rateLimit.window))
}

export const GatewayRateLimit = Type.Object({
  store: Type.Optional(Type.Union([Type.Literal('memory'), Type.Literal('redis')], {
    default: 'memory', description: '"memory": counters per process (bounded). "redis": one count for every gateway process sharing gateway.redis.'
  })),
  failurePolicy: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('closed')], {
    default: 'open', description: 'When the store fails: "open" lets requests through (logged and counted), "closed" answers 503.'
  })),
  perIp: Type.Optional(Type.Object({
    ...Limit,
    allow: AddressList('Client addresses or CIDRs that are never limited.')
  }, { additionalProperties: false, description: 'Tier that runs before auth for every request, keyed by client IP (IPv6 by /64); counts 401s and 404s too.' })),
  legacyHeaders: Type.Optional(Type.Boolean({ default: false, description: 'Also send X-RateLimit-Limit/-Remaining/-Reset.' })),
  maxKeys: Type.Optional(Type.Integer({ minimum: 100, default: DEFAULTS.rateLimit.maxKeys, description: 'Counters kept by the memory store (least recently used dropped).' }))
}, { additionalProperties: false, description: 'Rate-limit storage and the per-IP tier.' })

export const RateLimitRoute = Type.Object({ ...RouteMatch, ...Limit }, { additionalProperties: false, description: 'A tighter limit for some paths and methods, counted separately.' })

export const ServiceRateLimit = Type.Object({
  ...Limit,
  key: Type.Optional(Type.Union([
    Type.Literal('subject'),
    Type.Literal('ip'),
    Type.Object({ header: Type.String({ pattern: '^[A-Za-z0-9-]+$' }) }, { additionalProperties: false })
  ], { default: 'subject', description: '"subject": the verified token\'s `sub` (client IP when anonymous); "ip"; or { "header": "x-api-key" } (client IP when absent). A header value is whatever the client sends: key by it only where the key is validated (by the upstream or a service plugin); the per-IP tier still caps each address.' })),
  allow: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Never limited: subjects or header values, and client addresses or CIDRs (whatever the key).' })),
  routes: Type.Optional(Type.Array(RateLimitRoute))
}, { additionalProperties: false, description: 'Limit per caller for this service, after auth.' })

export const ServiceCors = Type.Object({
  origins: Type.Array(Type.String({ pattern: '^(\\*|https?://[^/\\s]+)$' }), {
    minItems: 1, description: 'Allowed origins ("*" for any, only without credentials).', examples: [['https://app.example.com']]
  }),
  methods: Type.Optional(Type.Array(HttpMethod, { minItems: 1, description: 'Methods allowed cross-origin (default: GET, HEAD, POST).' })),
  allowedHeaders: Type.Optional(Type.Array(Type.String({ pattern: '^[A-Za-z0-9-]+$' }), { description: 'Request headers allowed cross-origin (default: those the preflight asks for).' })),
  exposedHeaders: Type.Optional(Type.Array(Type.String({ pattern: '^[A-Za-z0-9-]+$' }), { description: 'Response headers scripts may read.' })),
  credentials: Type.Optional(Type.Boolean({ default: false, description: 'Allow cookies and Authorization cross-origin.' })),
  maxAge: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400, description: 'Seconds a browser may cache a preflight answer.' }))
}, { additionalProperties: false, description: 'Cross-origin browser access; preflights are answered by the gateway.' })

export const ServiceAccess = {
  auth: Type.Optional(Policy(ServiceAuth, 'JWT authentication and authorization for this service (true: required with defaults). Needs gateway.auth.')),
  rateLimit: Type.Optional(Policy(ServiceRateLimit, 'Per-caller rate limit for this service (false or absent: none).')),
  cors: Type.Optional(ServiceCors)
}

export const GatewayAccess = {
  auth: Type.Optional(GatewayAuth),
  rateLimit: Type.Optional(GatewayRateLimit),
  redis: Type.Optional(RedisOptions)
}
