/** Defaults for how a service balances and survives its replicas (issue 5). */
import type { Static } from '@sinclair/typebox'
import { DEFAULTS } from './defaults.js'
import type { HealthCheckOptions, LoadBalancingOptions, OutlierDetectionOptions } from './resilience-schema.js'
import type { HealthCheckSettings, LoadBalancingSettings, OutlierDetectionSettings } from './types.js'

export function resolveLoadBalancing (option: boolean | Static<typeof LoadBalancingOptions> | undefined): LoadBalancingSettings {
  if (option === false) return { strategy: 'first-upstream', hashOn: null, slowStart: 0 }
  const options = typeof option === 'object' ? option : {}
  const strategy = options.strategy ?? 'round-robin'
  return { strategy, hashOn: strategy === 'consistent-hash' ? options.hashOn ?? null : null, slowStart: options.slowStart ?? 0 }
}

export function resolveOutlierDetection (option: boolean | Static<typeof OutlierDetectionOptions> | undefined): OutlierDetectionSettings | null {
  if (option === false) return null
  const options = typeof option === 'object' ? option : {}
  return {
    consecutiveFailures: options.consecutiveFailures ?? DEFAULTS.outlier.consecutiveFailures,
    baseEjectionTime: options.baseEjectionTime ?? DEFAULTS.outlier.baseEjectionTime,
    maxEjectionTime: options.maxEjectionTime ?? DEFAULTS.outlier.maxEjectionTime,
    maxEjectionPercent: options.maxEjectionPercent ?? DEFAULTS.outlier.maxEjectionPercent,
    halfOpenRequests: options.halfOpenRequests ?? DEFAULTS.outlier.halfOpenRequests
  }
}

export function resolveHealthCheck (option: Static<typeof HealthCheckOptions> | undefined): HealthCheckSettings | null {
  if (option === undefined) return null
  return {
    path: option.path,
    interval: option.interval ?? DEFAULTS.healthCheck.interval,
    timeout: option.timeout ?? DEFAULTS.healthCheck.timeout,
    expectedStatuses: option.expectedStatuses ?? null,
    healthyThreshold: option.healthyThreshold ?? DEFAULTS.healthCheck.healthyThreshold,
    unhealthyThreshold: option.unhealthyThreshold ?? DEFAULTS.healthCheck.unhealthyThreshold
  }
}
