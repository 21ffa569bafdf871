import { afterEach, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { loadConfig } from '../src/config/load.js'
import { buildGateway } from '../src/gateway.js'
import { writeServicesFile, type TempServicesFile } from './helpers/services-file.js'
import { startUpstream, type TestUpstream } from './helpers/upstream.js'

// A team's own plugin, as a user would write it next to services.json. `skip-override` is what
// fastify-plugin sets: the hook lands in the service's scope instead of a child scope of its own.
const TEAM_PLUGIN = `
export default function teamHeader (scope, options, done) {
  scope.addHook('onRequest', function addTeam (request, reply, done) {
    request.headers['x-team'] = 'cart-team'
    done()
  })
  done()
}
teamHeader[Symbol.for('skip-override')] = true
`

// A team plugin that replaces the body it was handed (a redaction step, say) before the proxy sends it.
const BODY_REWRITING_PLUGIN = `
export default function redact (scope, options, done) {
  scope.addHook('preHandler', function replaceBody (request, reply, done) {
    request.body.resume()
    request.body = { redacted: true }
    done()
  })
  done()
}
redact[Symbol.for('skip-override')] = true
`

describe('service plugins named in services.json', () => {
  let file: TempServicesFile
  let users: TestUpstream
  let cart: TestUpstream
  let app: FastifyInstance | undefined

  afterEach(async () => {
    await app?.close()
    await users?.close()
    await cart?.close()
    await file?.remove()
  })

  it('run in their own service\'s scope, before the proxy, and nowhere else', async () => {
    users = await startUpstream()
    cart = await startUpstream()
    file = await writeServicesFile({
      services: [
        { name: 'users', prefix: '/users', upstreams: [users.url] },
        { name: 'cart', prefix: '/cart', upstreams: [cart.url], plugins: ['./team-header.js'] }
      ]
    }, { 'team-header.js': TEAM_PLUGIN })
    app = buildGateway(await loadConfig(file.path, {}), { logger: false })
    await app.inject({ method: 'GET', url: '/cart/alice' })
    await app.inject({ method: 'GET', url: '/users/alice' })
    expect(cart.requests[0]?.headers['x-team']).toBe('cart-team')
    expect(users.requests[0]?.headers['x-team']).toBeUndefined()
  })

  it('can replace a request body: the upstream gets the new one, as JSON, with its own length', async () => {
    users = await startUpstream()
    file = await writeServicesFile({
      services: [{ name: 'users', prefix: '/users', upstreams: [users.url], plugins: ['./redact.js'] }]
    }, { 'redact.js': BODY_REWRITING_PLUGIN })
    app = buildGateway(await loadConfig(file.path, {}), { logger: false })
    const response = await app.inject({ method: 'POST', url: '/users/alice', headers: { 'content-type': 'text/plain' }, payload: 'a secret of some length' })
    expect(response.statusCode).toBe(200)
    const received = users.requests[0]
    expect(received?.headers['content-type']).toBe('application/json')
    expect(received?.headers['content-length']).toBe(String(Buffer.byteLength('{"redacted":true}')))
    expect(received?.bodyBytes).toBe(Buffer.byteLength('{"redacted":true}'))
  })

  it('refuse to start with a clear message when the file exports no plugin', async () => {
    users = await startUpstream()
    file = await writeServicesFile({
      services: [{ name: 'users', prefix: '/users', upstreams: [users.url], plugins: ['./not-a-plugin.js'] }]
    }, { 'not-a-plugin.js': 'export const nothing = 1\n' })
    app = buildGateway(await loadConfig(file.path, {}), { logger: false })
    await expect(app.ready()).rejects.toThrow(/not-a-plugin\.js of service "users" must export a Fastify plugin function/)
  })
})
