/** Defaults and cross-checks of the response-delivery settings (cache and compression, issue 4). */
import zlib from 'node:zlib'
import type { Static } from '@sinclair/typebox'
import { DEFAULTS } from './defaults.js'
import type { GatewayCache, GatewayCompression, ServiceCache } from './delivery-schema.js'
import type { ConfigProblem } from './problems.js'
import type { ServicesFile } from './schema.js'
import type { CacheStoreSettings, CompressionSettings, ServiceCacheSettings } from './types.js'

export function resolveGatewayCache (cache: Static<typeof GatewayCache> | undefined): CacheStoreSettings {
  return {
    store: cache?.store ?? 'memory',
    maxBytes: cache?.maxBytes ?? DEFAULTS.cache.maxBytes,
    maxObjectBytes: cache?.maxObjectBytes ?? DEFAULTS.cache.maxObjectBytes,
    collapseTimeout: cache?.collapseTimeout ?? DEFAULTS.cache.collapseTimeout,
    purgeToken: cache?.purgeToken ?? null
  }
}

export function resolveCompression (compression: Static<typeof GatewayCompression> | undefined): CompressionSettings {
  return {
    threshold: compression?.threshold ?? DEFAULTS.compression.threshold,
    encodings: compression?.encodings ?? DEFAULTS.compression.encodings,
    brotliQuality: compression?.brotliQuality ?? DEFAULTS.compression.brotliQuality,
    gzipLevel: compression?.gzipLevel ?? DEFAULTS.compression.gzipLevel
  }
}

export function resolveServiceCache (cache: boolean | Static<typeof ServiceCache> | undefined): ServiceCacheSettings | null {
  if (cache === undefined || cache === false) return null
  const options = cache === true ? {} : cache
  return { partitionBySubject: options.partitionBySubject ?? false }
}

export function checkDeliverySemantics (file: ServicesFile): ConfigProblem[] {
  const problems: ConfigProblem[] = []
  const gateway = file.gateway
  if (gateway?.cache?.store === 'redis' && gateway.redis === undefined) {
    problems.push({ path: 'gateway.cache.store', message: '"redis" needs gateway.redis', hint: 'add gateway.redis { "url": "${REDIS_URL}" } or use "memory"' })
  }
  const zstdAt = gateway?.compression?.encodings?.indexOf('zstd') ?? -1
  if (zstdAt >= 0 && typeof (zlib as { createZstdCompress?: unknown }).createZstdCompress !== 'function') {
    problems.push({ path: `gateway.compression.encodings[${zstdAt}]`, message: `this Node.js (${process.version}) has no zstd`, hint: 'remove "zstd" or run Node.js 22.15 or later' })
  }
  file.services.forEach((service, index) => {
    const cache = service.cache
    if (typeof cache === 'object' && cache.partitionBySubject === true && (service.auth === undefined || service.auth === false)) {
      problems.push({ path: `services[${index}].cache.partitionBySubject`, message: `service "${service.name}" has no auth, so requests have no verified subject to partition by`, hint: 'turn on auth for the service, or drop partitionBySubject' })
    }
  })
  return problems
}
