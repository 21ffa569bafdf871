import Fastify, { type FastifyInstance } from 'fastify'
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import tenantHeader from '../../examples/policies/tenant-header.js'

/** Mirrors how the gateway registers a service's own plugins: inside that service's scope only. */
async function buildApp (): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(async (cart) => {
    await cart.register(tenantHeader)
    cart.get('/cart', async (request) => ({ tenant: request.headers['x-tenant'] ?? null }))
  })
  app.get('/users', async (request) => ({ tenant: request.headers['x-tenant'] ?? null }))
  return app
}

describe('tenant-header plugin', () => {
  let app: FastifyInstance
  beforeAll(async () => { app = await buildApp() })
  afterAll(async () => { await app.close() })

  it('sets x-tenant from the tenant query parameter', async () => {
    const response = await app.inject('/cart?tenant=acme')
    expect(response.json()).toEqual({ tenant: 'acme' })
  })

  it('defaults x-tenant to demo', async () => {
    expect((await app.inject('/cart')).json()).toEqual({ tenant: 'demo' })
  })

  it('overwrites an x-tenant header sent by the client', async () => {
    const response = await app.inject({ url: '/cart', headers: { 'x-tenant': 'spoofed' } })
    expect(response.json()).toEqual({ tenant: 'demo' })
  })

  it.each([
    ['a value with spaces', 'a%20b'],
    ['a repeated parameter', 'a&tenant=b'],
    ['an over-long value', 'x'.repeat(65)]
  ])('falls back to demo for %s', async (_case, query) => {
    expect((await app.inject(`/cart?tenant=${query}`)).json()).toEqual({ tenant: 'demo' })
  })

  it('stays inside the scope that registered it', async () => {
    expect((await app.inject('/users?tenant=acme')).json()).toEqual({ tenant: null })
  })

  it('is named for fastify-plugin and declares Fastify 5', () => {
    const meta = (tenantHeader as unknown as Record<symbol, { name?: string, fastify?: string }>)[Symbol.for('plugin-meta')]
    expect(meta).toMatchObject({ name: 'tenant-header', fastify: '5.x' })
  })
})
