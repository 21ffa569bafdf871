import { afterEach, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { gatewayFor, listeningGatewayFor } from '../helpers/gateway.js'
import type { RunningGateway } from '../../src/server.js'

describe('admin endpoints', () => {
  let app: FastifyInstance | undefined
  let running: RunningGateway | undefined

  afterEach(async () => {
    await app?.close()
    await running?.close()
    app = undefined
    running = undefined
  })

  it('answers healthz while the process lives, even before listening', async () => {
    app = await gatewayFor({ services: [] })
    const response = await app.inject({ method: 'GET', url: '/_gatehouse/healthz' })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual({ status: 'ok' })
  })

  it('answers readyz 503 until the gateway listens, then 200', async () => {
    app = await gatewayFor({ services: [] })
    const before = await app.inject({ method: 'GET', url: '/_gatehouse/readyz' })
    expect(before.statusCode).toBe(503)
    expect(before.json()).toMatchObject({ code: 'GATEHOUSE_NOT_READY' })

    running = await listeningGatewayFor({ services: [{ name: 'users', prefix: '/users', upstreams: [] }] })
    const after = await fetch(`${running.url}/_gatehouse/readyz`)
    expect(after.status).toBe(200)
    expect(await after.json()).toEqual({ status: 'ready', services: 1 })
  })

  it('answers readyz 503 once draining starts, while healthz stays 200 and service requests are refused', async () => {
    app = await gatewayFor({ services: [{ name: 'users', prefix: '/users', upstreams: [] }] })
    app.gatehouse.draining = true
    expect((await app.inject({ method: 'GET', url: '/_gatehouse/readyz' })).json()).toMatchObject({ code: 'GATEHOUSE_SHUTTING_DOWN' })
    expect((await app.inject({ method: 'GET', url: '/_gatehouse/healthz' })).statusCode).toBe(200)
    const refused = await app.inject({ method: 'GET', url: '/users/1' })
    expect(refused.statusCode).toBe(503)
    expect(refused.headers.connection).toBe('close')
    expect(refused.json()).toMatchObject({ code: 'GATEHOUSE_SHUTTING_DOWN' })
  })

  it('moves under a configured admin prefix', async () => {
    app = await gatewayFor({ gateway: { adminPrefix: '/ops/gw' }, services: [] })
    expect((await app.inject({ method: 'GET', url: '/ops/gw/healthz' })).statusCode).toBe(200)
    expect((await app.inject({ method: 'GET', url: '/_gatehouse/healthz' })).statusCode).toBe(404)
  })

  it('keeps working beside a catch-all service at /', async () => {
    app = await gatewayFor({ services: [{ name: 'web', prefix: '/', upstreams: [] }] })
    expect((await app.inject({ method: 'GET', url: '/_gatehouse/healthz' })).statusCode).toBe(200)
    expect((await app.inject({ method: 'GET', url: '/anything' })).json()).toMatchObject({ code: 'GATEHOUSE_NO_UPSTREAM' })
  })
})
