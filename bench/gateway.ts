/**
 * Gatehouse as a bench child, with the same logger as `gatehouse start` (JSON to stdout at the level in
 * GATEHOUSE_LOG_LEVEL: info writes one access-log line per request, warn writes none). The runner discards
 * stdout, but lines are still formatted and written: that is the honest cost of access logging. The URL
 * is announced on stderr.
 */
import { parseConfig } from '../src/config/load.js'
import { shutdownSignal, startGateway } from '../src/server.js'
import { announceUrl, requireBackendUrl } from './child-protocol.js'

const config = await parseConfig({
  gateway: {
    logLevel: process.env.GATEHOUSE_LOG_LEVEL ?? 'info',
    listen: { host: '127.0.0.1', port: 0 }
  },
  services: [{ name: 'api', prefix: '/api', upstreams: [requireBackendUrl()] }]
})

const running = await startGateway(config)
announceUrl(running.url)
await shutdownSignal()
await running.close()
