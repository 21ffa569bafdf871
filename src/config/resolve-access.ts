/** Defaults and file reads for the access-control settings (auth keys, rate limits, CORS, Redis). */
import { createPublicKey } from 'node:crypto'
import type { Static } from '@sinclair/typebox'
import type { AuthRule, GatewayAuth, GatewayRateLimit, RedisOptions, ServiceAuth, ServiceCors, ServiceRateLimit } from './access-schema.js'
import { DEFAULTS } from './defaults.js'
import { readTextFile, type FileContext } from './files.js'
import type {
  AuthKeySettings, AuthRequirements, ClaimValue, CorsSettings, GatewayRateLimitSettings, RedisSettings,
  RouteMatchSettings, ServiceAuthSettings, ServiceRateLimitSettings
} from './types.js'

const HS_ALGORITHMS = ['HS256', 'HS384', 'HS512']
const VERIFYING_KEY_TYPES = new Set(['rsa', 'rsa-pss', 'ec', 'ed25519'])

/** A public key of a type JWS can verify with; a private key is refused (it has no business on a gateway). */
function isVerifyingKey (pem: string): boolean {
  if (pem.includes('PRIVATE KEY')) return false
  try {
    return VERIFYING_KEY_TYPES.has(createPublicKey(pem).asymmetricKeyType ?? '')
  } catch {
    return false
  }
}

export async function resolveGatewayAuth (auth: Static<typeof GatewayAuth>, files: FileContext): Promise<AuthKeySettings> {
  // One after the other, so problems come out in the order of the file.
  const publicKeys: Array<AuthKeySettings['publicKeys'][number]> = []
  for (const [index, key] of (auth.publicKeys ?? []).entries()) {
    const at = `gateway.auth.publicKeys[${index}].file`
    const pem = await readTextFile(key.file, at, files)
    if (pem !== undefined && !isVerifyingKey(pem)) {
      files.problems.push({ path: at, message: `"${key.file}" is not an RSA, EC or Ed25519 public key in PEM form`, hint: 'export the public key, e.g. openssl pkey -pubout' })
    }
    publicKeys.push({ pem: pem ?? '', kid: key.kid ?? null, file: key.file })
  }
  return {
    secrets: (auth.secrets ?? []).map((secret) => ({ secret: secret.secret, algorithms: secret.algorithms ?? HS_ALGORITHMS, kid: secret.kid ?? null })),
    publicKeys,
    jwks: (auth.jwks ?? []).map((source) => ({
      url: source.url,
      issuers: source.issuers,
      refreshInterval: source.refreshInterval ?? DEFAULTS.auth.jwksRefreshInterval,
      cooldown: source.cooldown ?? DEFAULTS.auth.jwksCooldown,
      timeout: source.timeout ?? DEFAULTS.auth.jwksTimeout
    })),
    issuers: auth.issuers ?? null,
    audiences: auth.audiences ?? null,
    clockTolerance: auth.clockTolerance ?? DEFAULTS.auth.clockTolerance,
    requireExp: auth.requireExp ?? true,
    maxTokenBytes: auth.maxTokenBytes ?? DEFAULTS.auth.maxTokenBytes,
    cacheSize: auth.cacheSize ?? DEFAULTS.auth.cacheSize
  }
}

export function resolveServiceAuth (auth: boolean | Static<typeof ServiceAuth> | undefined, gatewayAudiences: readonly string[] | null): ServiceAuthSettings | null {
  if (auth === undefined || auth === false) return null
  const options = auth === true ? {} : auth
  return {
    mode: options.mode ?? 'required',
    public: (options.public ?? []).map(routeMatch),
    ...requirements(options),
    rules: (options.rules ?? []).map((rule: Static<typeof AuthRule>) => ({ match: routeMatch(rule), ...requirements(rule) })),
    audiences: options.audiences ?? gatewayAudiences,
    identityHeaders: Object.entries(options.identityHeaders ?? DEFAULTS.auth.identityHeaders)
      .map(([header, claim]) => [header.toLowerCase(), claim] as const),
    forwardAuthorization: options.forwardAuthorization ?? false
  }
}

function requirements (options: { scopes?: string[], claims?: Record<string, ClaimValue | ClaimValue[]> }): AuthRequirements {
  const claims: Record<string, readonly ClaimValue[]> = {}
  for (const [name, value] of Object.entries(options.claims ?? {})) claims[name] = Array.isArray(value) ? value : [value]
  return { scopes: options.scopes ?? [], claims }
}

function routeMatch (route: { path: string, methods?: string[] }): RouteMatchSettings {
  return { path: route.path, methods: route.methods ?? null }
}

export function resolveGatewayRateLimit (rateLimit: Static<typeof GatewayRateLimit> | undefined): GatewayRateLimitSettings {
  const perIp = rateLimit?.perIp
  return {
    store: rateLimit?.store ?? 'memory',
    failurePolicy: rateLimit?.failurePolicy ?? 'open',
    perIp: perIp === undefined ? null : { max: perIp.max, window: perIp.window ?? DEFAULTS.rateLimit.window, allow: perIp.allow ?? [] },
    legacyHeaders: rateLimit?.legacyHeaders ?? false,
    maxKeys: rateLimit?.maxKeys ?? DEFAULTS.rateLimit.maxKeys
  }
}

export function resolveServiceRateLimit (rateLimit: boolean | Static<typeof ServiceRateLimit> | undefined): ServiceRateLimitSettings | null {
  if (rateLimit === undefined || rateLimit === false) return null
  const options: Static<typeof ServiceRateLimit> = rateLimit === true ? { max: DEFAULTS.rateLimit.max } : rateLimit
  return {
    max: options.max,
    window: options.window ?? DEFAULTS.rateLimit.window,
    key: options.key ?? 'subject',
    allow: options.allow ?? [],
    routes: (options.routes ?? []).map((route) => ({ match: routeMatch(route), max: route.max, window: route.window ?? DEFAULTS.rateLimit.window }))
  }
}

export function resolveCors (cors: Static<typeof ServiceCors> | undefined): CorsSettings | null {
  if (cors === undefined) return null
  return {
    origins: cors.origins,
    methods: cors.methods ?? ['GET', 'HEAD', 'POST'],
    allowedHeaders: cors.allowedHeaders ?? null,
    exposedHeaders: cors.exposedHeaders ?? [],
    credentials: cors.credentials ?? false,
    maxAge: cors.maxAge ?? null
  }
}

export function resolveRedis (redis: Static<typeof RedisOptions> | undefined): RedisSettings | null {
  if (redis === undefined) return null
  return {
    url: redis.url,
    keyPrefix: redis.keyPrefix ?? DEFAULTS.redis.keyPrefix,
    connectTimeout: redis.connectTimeout ?? DEFAULTS.redis.connectTimeout,
    commandTimeout: redis.commandTimeout ?? DEFAULTS.redis.commandTimeout
  }
}
