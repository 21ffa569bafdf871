/** Named defaults of every optional setting in services.json (referenced by the schema and by resolve.ts). */
export const DEFAULTS = Object.freeze({
  listen: Object.freeze({ host: '127.0.0.1', port: 8080 }),
  limits: Object.freeze({
    bodyBytes: 10 * 1024 * 1024,
    // Node's own default head limit; large enough for real cookies and tokens.
    headerBytes: 16 * 1024
  }),
  gatewayTimeouts: Object.freeze({ requestHeaders: 10_000, keepAlive: 72_000, drain: 10_000 }),
  upstreamTimeouts: Object.freeze({ connect: 5_000, responseHeaders: 30_000, idle: 60_000 }),
  retryAttempts: 2,
  retryBudgetPercent: 20,
  outlier: Object.freeze({ consecutiveFailures: 5, baseEjectionTime: 30_000, maxEjectionTime: 300_000, maxEjectionPercent: 50, halfOpenRequests: 1 }),
  healthCheck: Object.freeze({ interval: 10_000, timeout: 2_000, healthyThreshold: 2, unhealthyThreshold: 3 }),
  maxPendingRequests: 10_000,
  logLevel: 'info',
  adminPrefix: '/_gatehouse',
  rewritePrefix: '/',
  // Keep-alive sockets per upstream origin.
  upstreamConnections: 128,
  auth: Object.freeze({
    clockTolerance: 30_000,
    maxTokenBytes: 8192,
    cacheSize: 10_000,
    jwksRefreshInterval: 300_000,
    jwksCooldown: 30_000,
    jwksTimeout: 5_000,
    identityHeaders: Object.freeze({ 'x-user-id': 'sub', 'x-user-scopes': 'scope' })
  }),
  rateLimit: Object.freeze({ maxKeys: 100_000, max: 100, window: 60_000 }),
  cache: Object.freeze({ maxBytes: 64 * 1024 * 1024, maxObjectBytes: 1024 * 1024, collapseTimeout: 10_000 }),
  compression: Object.freeze({ threshold: 1024, encodings: Object.freeze(['br', 'gzip', 'deflate'] as const), brotliQuality: 4, gzipLevel: 6 }),
  redis: Object.freeze({ keyPrefix: 'gatehouse:', connectTimeout: 1_000, commandTimeout: 250 })
} as const)

/**
 * Defaults of gateway.tls. Kept out of listener-schema.ts, as DEFAULTS is out of schema.ts: the gateway
 * process resolves its config with these, and importing a schema module would load TypeBox there
 * (hundreds of modules, several MB resident) only to read two constants.
 */
export const TLS_DEFAULTS = Object.freeze({
  minVersion: 'TLSv1.2',
  // 180 days, the value most scanners and the HSTS preload list guidance start from.
  hstsMaxAge: 15_552_000
} as const)
