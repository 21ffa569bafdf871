/**
 * How a service spreads requests over its replicas and survives their faults (issue 5): the strategy,
 * retries with a budget, passive outlier detection (a circuit breaker per upstream), active health checks
 * and a cap on pending requests.
 */
import { Type } from '@sinclair/typebox'
import { DEFAULTS } from './defaults.js'
import { Milliseconds } from './schema-kit.js'

const HeaderName = Type.String({ pattern: '^[A-Za-z0-9-]+$' })

export const HashKey = Type.Union([
  Type.Literal('ip'),
  Type.Object({ header: HeaderName }, { additionalProperties: false }),
  Type.Object({ cookie: Type.String({ pattern: '^[A-Za-z0-9!#$%&\'*+.^_`|~-]+$' }) }, { additionalProperties: false })
], { description: 'What consistent hashing keys on: "ip" (the client IP), { "header": name } or { "cookie": name }; requests without it are spread round-robin.' })

export const LoadBalancingOptions = Type.Object({
  strategy: Type.Optional(Type.Union([Type.Literal('round-robin'), Type.Literal('least-request'), Type.Literal('consistent-hash')], {
    default: 'round-robin',
    description: '"round-robin": smooth weighted round-robin (nginx\'s). "least-request": the less busy of two random replicas (power of two choices, by in-flight requests / weight). "consistent-hash": the same key always reaches the same replica, and adding or removing one remaps only its share (weighted rendezvous hashing).'
  })),
  hashOn: Type.Optional(HashKey),
  slowStart: Type.Optional(Type.Integer({
    minimum: 0,
    maximum: 600_000,
    default: 0,
    description: 'A replica that comes back (health check passed, ejection over) ramps its share up over this many milliseconds; 0 turns it off.'
  }))
}, { additionalProperties: false })

export const RetryOptions = Type.Object({
  attempts: Type.Optional(Type.Integer({
    minimum: 1,
    maximum: 5,
    default: DEFAULTS.retryAttempts,
    description: 'Extra attempts, each on another replica, after a connection failure, for GET, HEAD and OPTIONS without a body.'
  })),
  budgetPercent: Type.Optional(Type.Integer({
    minimum: 1,
    maximum: 100,
    default: DEFAULTS.retryBudgetPercent,
    description: 'Retries allowed, as a share of the requests of the last 10 s (at least 3): a failing fleet is not hit with a retry storm.'
  }))
}, { additionalProperties: false })

export const OutlierDetectionOptions = Type.Object({
  consecutiveFailures: Type.Optional(Type.Integer({
    minimum: 1,
    maximum: 1000,
    default: DEFAULTS.outlier.consecutiveFailures,
    description: 'Consecutive failures (connection errors, resets, timeouts, 5xx answers) that open a replica\'s circuit (eject it).'
  })),
  baseEjectionTime: Type.Optional(Milliseconds('First ejection time; each further ejection of the same replica lasts once more (Envoy\'s rule), up to maxEjectionTime', DEFAULTS.outlier.baseEjectionTime)),
  maxEjectionTime: Type.Optional(Milliseconds('Longest ejection', DEFAULTS.outlier.maxEjectionTime)),
  maxEjectionPercent: Type.Optional(Type.Integer({
    minimum: 0,
    maximum: 100,
    default: DEFAULTS.outlier.maxEjectionPercent,
    description: 'Most replicas that may be ejected at once, in percent (at least one is always allowed): keeps some capacity when failures are everywhere.'
  })),
  halfOpenRequests: Type.Optional(Type.Integer({
    minimum: 1,
    maximum: 100,
    default: DEFAULTS.outlier.halfOpenRequests,
    description: 'After an ejection, how many probe requests the replica gets at once before it is trusted again (half-open).'
  }))
}, { additionalProperties: false })

export const HealthCheckOptions = Type.Object({
  path: Type.String({ pattern: '^/[^\\s]*$', description: 'Path requested on every replica (GET), e.g. /health.', examples: ['/health'] }),
  interval: Type.Optional(Milliseconds('Time between two checks of a replica', DEFAULTS.healthCheck.interval)),
  timeout: Type.Optional(Milliseconds('Time a check may take', DEFAULTS.healthCheck.timeout)),
  expectedStatuses: Type.Optional(Type.Array(Type.Integer({ minimum: 100, maximum: 599 }), {
    minItems: 1, description: 'Statuses that pass (default: any 2xx or 3xx).'
  })),
  healthyThreshold: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: DEFAULTS.healthCheck.healthyThreshold, description: 'Consecutive passes that make a replica healthy again.' })),
  unhealthyThreshold: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: DEFAULTS.healthCheck.unhealthyThreshold, description: 'Consecutive failures that take a replica out.' }))
}, { additionalProperties: false })
