/** The routing table as people read it, for `gatehouse check` and the start-up log. */
import type { GatewayConfig } from './config/types.js'
import { describeListener } from './tls/listener.js'

export function routingTable (config: GatewayConfig): string {
  const services = [...config.services].sort((a, b) => a.prefix.localeCompare(b.prefix))
  const width = Math.max(config.adminPrefix.length, ...services.map((service) => service.prefix.length))
  const lines = services.map((service) => {
    const upstreams = service.upstreams.length === 0
      ? 'no upstream (503)'
      : service.upstreams.map((upstream) => `${upstream.url}${upstream.weight === 1 ? '' : ` (weight ${upstream.weight})`}${upstream.backup ? ' (backup)' : ''}`).join(', ')
    const extras = [service.websocket ? 'websocket' : '', service.retryAttempts > 0 ? `retries ${service.retryAttempts}` : '',
      service.loadBalancing.strategy === 'first-upstream' && service.upstreams.length > 1 ? 'first upstream only' : '',
      service.upstreams.length > 1 && service.loadBalancing.strategy !== 'round-robin' && service.loadBalancing.strategy !== 'first-upstream' ? service.loadBalancing.strategy : '',
      service.healthCheck === null ? '' : `health ${service.healthCheck.path}`,
      service.auth === null ? '' : `auth ${service.auth.mode}${service.auth.scopes.length > 0 ? ` (${service.auth.scopes.join(' ')})` : ''}`,
      service.rateLimit === null ? '' : `${service.rateLimit.max} per ${service.rateLimit.window / 1000} s`,
      service.cors === null ? '' : 'cors']
      .filter(Boolean).join(', ')
    return `  ${service.prefix.padEnd(width)}  → ${service.name}: ${upstreams}${extras ? ` [${extras}]` : ''}`
  })
  lines.push(`  ${config.adminPrefix.padEnd(width)}  → gateway: healthz, readyz, rate-limit, upstreams`)
  if (config.tls !== null) lines.unshift(`  listener: ${describeListener(config.tls)}`)
  return lines.join('\n')
}
