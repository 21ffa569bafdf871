/** Defaults of the response-delivery settings (cache and compression, issue 4). */
import type { Static } from '@sinclair/typebox'
import { DEFAULTS } from './defaults.js'
import type { GatewayCache, GatewayCompression, ServiceCache } from './delivery-schema.js'
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
