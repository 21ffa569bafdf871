/**
 * Gatehouse as a bench child, with the same logger as `gatehouse start` (JSON to stdout at the level in
 * GATEHOUSE_LOG_LEVEL: info writes one access-log line per request, warn writes none). The runner discards
 * stdout, but lines are still formatted and written: that is the honest cost of access logging. The URL
 * is announced on stderr.
 *
 * GATEHOUSE_BENCH_STACK=full adds the access-control stack: JWT auth with the secret in
 * GATEHOUSE_BENCH_SECRET (the runner mints the token), the per-IP tier and a per-subject tier, with limits
 * far above what a round sends so no request is refused.
 *
 * GATEHOUSE_BENCH_TLS_DIR=<dir> serves HTTPS (HTTP/1.1, keep-alive) with dir/dev.crt and dir/dev.key, which
 * the runner makes with scripts/dev-cert.sh; the URL it announces is https://.
 */
import { join } from 'node:path'
import { parseConfig } from '../src/config/load.js'
import { applyGatewayV8Flags } from '../src/node-options.js'
import { shutdownSignal, startGateway } from '../src/server.js'
import { announceUrl, requireBackendUrl } from './child-protocol.js'

const NEVER_REACHED = 1_000_000_000
const full = process.env.GATEHOUSE_BENCH_STACK === 'full'
const tlsDir = process.env.GATEHOUSE_BENCH_TLS_DIR
// GATEHOUSE_BENCH_REPLICAS: more backend URLs, for the pool target (least-request over all of them).
// GATEHOUSE_BENCH_CACHE=1: the service caches (the backend's /cached/* answers are storable for an hour).
const cache = process.env.GATEHOUSE_BENCH_CACHE === '1'
const replicas = (process.env.GATEHOUSE_BENCH_REPLICAS ?? '').split(',').filter((url) => url !== '')

const config = await parseConfig({
  gateway: {
    logLevel: process.env.GATEHOUSE_LOG_LEVEL ?? 'info',
    listen: { host: '127.0.0.1', port: 0 },
    ...(tlsDir === undefined ? {} : { tls: { cert: join(tlsDir, 'dev.crt'), key: join(tlsDir, 'dev.key') } }),
    ...(full
      ? {
          auth: { secrets: [{ secret: process.env.GATEHOUSE_BENCH_SECRET ?? '', algorithms: ['HS256'] }] },
          rateLimit: { perIp: { max: NEVER_REACHED, window: 60_000 } }
        }
      : {})
  },
  services: [{
    name: 'api',
    prefix: '/api',
    upstreams: [requireBackendUrl(), ...replicas],
    ...(replicas.length > 0 ? { loadBalancing: { strategy: 'least-request' } } : {}),
    ...(full ? { auth: { scopes: ['api:read'] }, rateLimit: { max: NEVER_REACHED, window: 60_000 } } : {}),
    ...(cache ? { cache: true } : {})
  }]
})

// As `gatehouse start` does (src/node-options.ts).
applyGatewayV8Flags()
const running = await startGateway(config)
announceUrl(running.url)
await shutdownSignal()
await running.close()
