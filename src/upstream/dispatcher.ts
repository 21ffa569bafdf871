import { Agent } from 'undici'
import type { ResolvedService } from '../config/types.js'
import { DEFAULTS } from '../config/defaults.js'

/**
 * One undici Agent per service: keep-alive connections per upstream origin, the service's timeouts, and
 * upstream TLS verification ON unless the service explicitly turns it off (@fastify/reply-from's own
 * default does not verify; design.md §4).
 */
export function createUpstreamDispatcher (service: ResolvedService): Agent {
  return new Agent({
    connections: DEFAULTS.upstreamConnections,
    pipelining: 1,
    headersTimeout: service.timeouts.responseHeaders,
    bodyTimeout: service.timeouts.idle,
    connect: {
      timeout: service.timeouts.connect,
      rejectUnauthorized: service.tls.verify,
      ...(service.tls.ca === undefined ? {} : { ca: service.tls.ca }),
      ...(service.tls.servername === undefined ? {} : { servername: service.tls.servername }),
      // mTLS: { cert, key } presented when the upstream asks for a client certificate.
      ...service.tls.clientCertificate
    }
  })
}
