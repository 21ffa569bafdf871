/** Cross-entry checks of the cache and compression settings: what a service asks for must be possible. */
import zlib from 'node:zlib'
import type { ConfigProblem } from './problems.js'
import type { ServicesFile } from './schema.js'

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
