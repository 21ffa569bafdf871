/**
 * What stops being shared once the gateway runs as several workers: the memory stores live in each worker's
 * own heap. Said once at startup, with the fix, because the symptom (a limit that lets N times too much
 * through, a purge that leaves stale copies in the other workers) looks like a bug of the feature.
 */
import type { GatewayConfig } from '../config/types.js'

export function perWorkerStateWarning (config: GatewayConfig, workers: number): string | null {
  const perWorker: string[] = []
  const settings: string[] = []
  const limited = config.rateLimit.perIp !== null || config.services.some((service) => service.rateLimit !== null)
  if (limited && config.rateLimit.store === 'memory') {
    perWorker.push(`rate limits are counted per worker (a client may get up to ${workers} times its limit)`)
    settings.push('gateway.rateLimit')
  }
  if (config.cache.store === 'memory' && config.services.some((service) => service.cache !== null)) {
    perWorker.push('the response cache is kept per worker (each worker fills its own copy, and a purge reaches only the worker that answers it)')
    settings.push('gateway.cache')
  }
  if (perWorker.length === 0) return null
  return `${workers} workers with the memory store: ${perWorker.join('; ')}. ` +
    `Set "store": "redis" in ${settings.join(' and ')} (with gateway.redis) to share them between the workers and every other gateway process`
}
