/** Defaults applied to a valid services.json, file references read, and the result frozen. */
import type { ServiceEntry, ServicesFile, UpstreamEntry } from './schema.js'
import { DEFAULTS } from './defaults.js'
import type { ConfigProblem } from './problems.js'
import { readTextFile, resolveFile } from './files.js'
import { readPair, resolveListenerTls } from './resolve-listener.js'
import { resolveHealthCheck, resolveLoadBalancing, resolveOutlierDetection } from './resolve-resilience.js'
import { resolveCors, resolveGatewayAuth, resolveGatewayRateLimit, resolveRedis, resolveServiceAuth, resolveServiceRateLimit } from './resolve-access.js'
import { resolveCompression, resolveGatewayCache, resolveServiceCache } from './resolve-delivery.js'
import type { GatewayConfig, IpAccessSettings, ResolvedService, ResolvedUpstream, UpstreamTimeoutSettings, UpstreamTlsSettings } from './types.js'

export interface ResolveContext {
  /** Directory that relative paths (plugins, CA files) are resolved against. */
  readonly baseDir: string
  readonly source: string | null
}

export async function resolveConfig (file: ServicesFile, context: ResolveContext): Promise<{ config?: GatewayConfig, problems: ConfigProblem[] }> {
  const problems: ConfigProblem[] = []
  const gateway = file.gateway ?? {}
  const upstreamDefaults: UpstreamTimeoutSettings = { ...DEFAULTS.upstreamTimeouts, ...gateway.timeouts?.upstream }
  const bodyBytes = gateway.limits?.bodyBytes ?? DEFAULTS.limits.bodyBytes
  const ipAccess = gateway.ipAccess ?? {}
  const files = { baseDir: context.baseDir, problems }
  const auth = gateway.auth === undefined ? null : await resolveGatewayAuth(gateway.auth, files)
  const tls = gateway.tls === undefined ? null : await resolveListenerTls(gateway.tls, gateway.listen?.port ?? DEFAULTS.listen.port, files)
  const services = await Promise.all(file.services.map((service, index) =>
    resolveService(service, index, { upstreamDefaults, bodyBytes, ipAccess, gatewayAudiences: auth?.audiences ?? null, files, problems })))
  if (problems.length > 0) return { problems }
  const config: GatewayConfig = {
    listen: { ...DEFAULTS.listen, ...gateway.listen },
    trustedProxies: gateway.trustedProxies ?? [],
    ipAccess: ipLists(ipAccess.allow ?? [], ipAccess.deny ?? []),
    auth,
    rateLimit: resolveGatewayRateLimit(gateway.rateLimit),
    redis: resolveRedis(gateway.redis),
    cache: resolveGatewayCache(gateway.cache),
    compression: resolveCompression(gateway.compression),
    limits: { ...DEFAULTS.limits, ...gateway.limits },
    timeouts: {
      requestHeaders: gateway.timeouts?.requestHeaders ?? DEFAULTS.gatewayTimeouts.requestHeaders,
      keepAlive: gateway.timeouts?.keepAlive ?? DEFAULTS.gatewayTimeouts.keepAlive,
      drain: gateway.timeouts?.drain ?? DEFAULTS.gatewayTimeouts.drain
    },
    logLevel: gateway.logLevel ?? DEFAULTS.logLevel,
    adminPrefix: gateway.adminPrefix ?? DEFAULTS.adminPrefix,
    tls,
    services,
    source: context.source
  }
  return { config: deepFreeze(config), problems }
}

interface ServiceResolution {
  readonly upstreamDefaults: UpstreamTimeoutSettings
  readonly bodyBytes: number
  readonly ipAccess: { readonly allow?: readonly string[], readonly deny?: readonly string[] }
  readonly gatewayAudiences: readonly string[] | null
  readonly files: { readonly baseDir: string, readonly problems: ConfigProblem[] }
  readonly problems: ConfigProblem[]
}

async function resolveService (service: ServiceEntry, index: number, defaults: ServiceResolution): Promise<ResolvedService> {
  const at = `services[${index}]`
  const retries = service.retries
  return {
    name: service.name,
    prefix: service.prefix,
    rewritePrefix: service.rewritePrefix ?? DEFAULTS.rewritePrefix,
    upstreams: service.upstreams.map(resolveUpstream),
    timeouts: { ...defaults.upstreamDefaults, ...service.timeouts },
    websocket: service.websocket ?? false,
    retryAttempts: retries === true ? DEFAULTS.retryAttempts : retries ? (retries.attempts ?? DEFAULTS.retryAttempts) : 0,
    retryBudgetPercent: typeof retries === 'object' ? (retries.budgetPercent ?? DEFAULTS.retryBudgetPercent) : DEFAULTS.retryBudgetPercent,
    loadBalancing: resolveLoadBalancing(service.loadBalancing),
    outlierDetection: resolveOutlierDetection(service.outlierDetection),
    healthCheck: resolveHealthCheck(service.healthCheck),
    maxPendingRequests: service.maxPendingRequests ?? DEFAULTS.maxPendingRequests,
    ipAccess: resolveIpAccess(service, defaults.ipAccess),
    tls: await resolveTls(service, at, defaults),
    auth: resolveServiceAuth(service.auth, defaults.gatewayAudiences),
    rateLimit: resolveServiceRateLimit(service.rateLimit),
    cors: resolveCors(service.cors),
    cache: resolveServiceCache(service.cache),
    compression: service.compression ?? true,
    bodyLimit: service.bodyLimit ?? defaults.bodyBytes,
    plugins: await Promise.all((service.plugins ?? []).map((plugin, pluginIndex) =>
      resolveFile(plugin, `${at}.plugins[${pluginIndex}]`, defaults.files)))
  }
}

/** A service's deny list adds to the gateway's; its allow list replaces the gateway's; false opts out. */
function resolveIpAccess (service: ServiceEntry, gateway: ServiceResolution['ipAccess']): IpAccessSettings | null {
  if (service.ipAccess === false) return null
  const own = typeof service.ipAccess === 'object' ? service.ipAccess : {}
  return ipLists(own.allow ?? gateway.allow ?? [], [...(gateway.deny ?? []), ...(own.deny ?? [])])
}

function ipLists (allow: readonly string[], deny: readonly string[]): IpAccessSettings | null {
  return allow.length === 0 && deny.length === 0 ? null : { allow, deny }
}

function resolveUpstream (upstream: UpstreamEntry): ResolvedUpstream {
  const entry = typeof upstream === 'string' ? { url: upstream } : upstream
  return { url: new URL(entry.url).origin, weight: entry.weight ?? 1, backup: entry.backup ?? false }
}

async function resolveTls (service: ServiceEntry, at: string, { files }: ServiceResolution): Promise<UpstreamTlsSettings> {
  const tls = service.tls ?? {}
  const settings: { -readonly [K in keyof UpstreamTlsSettings]: UpstreamTlsSettings[K] } = { verify: tls.verify ?? true }
  if (tls.servername !== undefined) settings.servername = tls.servername
  if (tls.ca !== undefined) {
    const ca = await readTextFile(tls.ca, `${at}.tls.ca`, files)
    if (ca !== undefined) settings.ca = ca
  }
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    const [missing, present] = tls.cert === undefined ? ['cert', 'key'] : ['key', 'cert']
    files.problems.push({ path: `${at}.tls.${missing}`, message: `tls.${present} is set but tls.${missing} is not`, hint: 'a client certificate needs both "cert" and "key"' })
  } else if (tls.cert !== undefined && tls.key !== undefined) {
    const pair = await readPair(tls.cert, tls.key, `${at}.tls`, files)
    if (pair !== undefined) settings.clientCertificate = { cert: pair.cert, key: pair.key }
  }
  return settings
}

function deepFreeze<T> (value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const item of Object.values(value)) deepFreeze(item)
  }
  return value
}
