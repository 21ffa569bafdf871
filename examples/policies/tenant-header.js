// A team's own policy, written in plain JavaScript: services.json lists it under one service's "plugins", and
// the gateway registers it in that service's scope only, after the built-in policies and before the proxy.
import fp from 'fastify-plugin'

const DEFAULT_TENANT = 'demo'
// The query string is client input and the header goes upstream: let only a plain token through.
const TENANT_PATTERN = /^[A-Za-z0-9_-]{1,64}$/

/**
 * @param {import('fastify').FastifyInstance} fastify
 * @returns {Promise<void>}
 */
async function tenantHeader (fastify) {
  fastify.addHook('onRequest', async (request) => {
    const { tenant } = /** @type {{ tenant?: unknown }} */ (request.query)
    // Always overwrite, never trust: an `x-tenant` sent by the client must not reach the upstream.
    request.headers['x-tenant'] = typeof tenant === 'string' && TENANT_PATTERN.test(tenant) ? tenant : DEFAULT_TENANT
  })
}

// fastify-plugin skips encapsulation, so the hook lands in the service scope that registers it (and reaches
// the proxy routes beside it) instead of in a child scope of its own with no routes.
export default fp(tenantHeader, { name: 'tenant-header', fastify: '5.x' })
