import { spawn } from 'node:child_process'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest'
import { buildCartService } from '../../examples/services/cart.js'
import { buildOrdersService } from '../../examples/services/orders.js'
import { buildUsersService } from '../../examples/services/users.js'

/** Listens on an ephemeral loopback port and returns the base URL; closed by the returned function. */
async function serve (app: FastifyInstance): Promise<{ base: string, close: () => Promise<void> }> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  return { base: `http://127.0.0.1:${port}`, close: () => app.close() }
}

async function send (url: string, method: string, body?: unknown): Promise<Response> {
  return fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body)
  })
}

describe('users service', () => {
  let server: Awaited<ReturnType<typeof serve>>
  beforeAll(async () => { server = await serve(buildUsersService()) })
  afterAll(async () => { await server.close() })

  it('answers its health check', async () => {
    const response = await fetch(`${server.base}/health`)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ status: 'ok' })
  })

  it('lists the seeded users', async () => {
    const response = await fetch(`${server.base}/`)
    const { users } = await response.json() as { users: Array<{ id: string, name: string }> }
    expect(response.status).toBe(200)
    expect(users.length).toBeGreaterThanOrEqual(2)
    expect(users[0]).toMatchObject({ id: '1', name: 'Ada Lovelace' })
  })

  it('gets one user by id', async () => {
    const response = await fetch(`${server.base}/2`)
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ id: '2', email: 'grace@example.com' })
  })

  it('answers an unknown id with a 404 problem', async () => {
    const response = await fetch(`${server.base}/999`)
    expect(response.status).toBe(404)
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    expect(await response.json()).toMatchObject({ status: 404, title: 'Not Found' })
  })

  it('creates a user with 201 and a Location relative to its own root', async () => {
    const created = await send(`${server.base}/`, 'POST', { name: 'Edsger Dijkstra', email: 'edsger@example.com' })
    expect(created.status).toBe(201)
    const user = await created.json() as { id: string }
    expect(created.headers.get('location')).toBe(`/${user.id}`)
    const fetched = await fetch(`${server.base}${created.headers.get('location') ?? ''}`)
    expect(await fetched.json()).toEqual({ id: user.id, name: 'Edsger Dijkstra', email: 'edsger@example.com' })
  })

  it.each([
    ['no email', { name: 'Nobody' }],
    ['an invalid email', { name: 'Nobody', email: 'not-an-email' }],
    ['an empty name', { name: '', email: 'a@example.com' }]
  ])('rejects a body with %s with a 400 problem', async (_case, body) => {
    const response = await send(`${server.base}/`, 'POST', body)
    expect(response.status).toBe(400)
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/)
  })

  it('answers an unknown route with a 404 problem', async () => {
    const response = await send(`${server.base}/1`, 'DELETE')
    expect(response.status).toBe(404)
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/)
  })
})

describe('orders service', () => {
  let first: Awaited<ReturnType<typeof serve>>
  let second: Awaited<ReturnType<typeof serve>>
  beforeAll(async () => {
    first = await serve(buildOrdersService({ replica: 'orders-1' }))
    second = await serve(buildOrdersService({ replica: 'orders-2' }))
  })
  afterAll(async () => { await Promise.all([first.close(), second.close()]) })

  it('names the replica in the list and in each order', async () => {
    const list = await (await fetch(`${first.base}/`)).json() as { replica: string, orders: unknown[] }
    expect(list.replica).toBe('orders-1')
    expect(list.orders.length).toBeGreaterThan(0)
    expect(await (await fetch(`${second.base}/1`)).json()).toMatchObject({ id: '1', replica: 'orders-2' })
  })

  it('serves the same seeded orders on every replica', async () => {
    const one = await (await fetch(`${first.base}/2`)).json() as Record<string, unknown>
    const two = await (await fetch(`${second.base}/2`)).json() as Record<string, unknown>
    expect({ ...one, replica: undefined }).toEqual({ ...two, replica: undefined })
  })

  it('creates an order with 201 and a Location', async () => {
    const order = { userId: '1', items: [{ sku: 'stapler', qty: 1 }] }
    const created = await send(`${first.base}/`, 'POST', order)
    expect(created.status).toBe(201)
    const body = await created.json() as { id: string }
    expect(body).toMatchObject({ ...order, replica: 'orders-1' })
    expect(created.headers.get('location')).toBe(`/${body.id}`)
    expect((await fetch(`${first.base}/${body.id}`)).status).toBe(200)
  })

  it.each([
    ['no items', { userId: '1', items: [] }],
    ['a zero quantity', { userId: '1', items: [{ sku: 'x', qty: 0 }] }],
    ['no user', { items: [{ sku: 'x', qty: 1 }] }]
  ])('rejects an order with %s', async (_case, body) => {
    expect((await send(`${first.base}/`, 'POST', body)).status).toBe(400)
  })

  it('answers an unknown order with a 404 problem', async () => {
    const response = await fetch(`${second.base}/does-not-exist`)
    expect(response.status).toBe(404)
    expect(await response.json()).toMatchObject({ status: 404 })
  })

  it('takes the replica name from REPLICA_NAME when none is given', async () => {
    vi.stubEnv('REPLICA_NAME', 'from-env')
    try {
      const app = buildOrdersService()
      const response = await app.inject('/')
      expect(response.json()).toMatchObject({ replica: 'from-env' })
      await app.close()
    } finally {
      vi.unstubAllEnvs()
    }
  })
})

describe('cart service', () => {
  let server: Awaited<ReturnType<typeof serve>>
  beforeAll(async () => { server = await serve(buildCartService()) })
  afterAll(async () => { await server.close() })

  it('starts every user with an empty cart', async () => {
    const response = await fetch(`${server.base}/7`)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ userId: '7', items: [] })
  })

  it('adds, updates and removes items', async () => {
    expect((await send(`${server.base}/1/items/pen`, 'PUT', { qty: 2 })).status).toBe(200)
    await send(`${server.base}/1/items/ink`, 'PUT', { qty: 1 })
    const updated = await send(`${server.base}/1/items/pen`, 'PUT', { qty: 5 })
    expect(await updated.json()).toEqual({ userId: '1', items: [{ sku: 'pen', qty: 5 }, { sku: 'ink', qty: 1 }] })

    expect((await send(`${server.base}/1/items/pen`, 'DELETE')).status).toBe(204)
    expect(await (await fetch(`${server.base}/1`)).json()).toEqual({ userId: '1', items: [{ sku: 'ink', qty: 1 }] })
  })

  it('answers removing an item that is not in the cart with a 404 problem', async () => {
    const response = await send(`${server.base}/2/items/ghost`, 'DELETE')
    expect(response.status).toBe(404)
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/)
  })

  it('rejects a quantity that is not a positive integer', async () => {
    expect((await send(`${server.base}/1/items/pen`, 'PUT', { qty: -1 })).status).toBe(400)
    expect((await send(`${server.base}/1/items/pen`, 'PUT', {})).status).toBe(400)
  })

  it('echoes the x-tenant header as tenant', async () => {
    const response = await fetch(`${server.base}/3`, { headers: { 'x-tenant': 'acme' } })
    expect(await response.json()).toEqual({ userId: '3', items: [], tenant: 'acme' })
  })
})

describe('a demo service run as a program', () => {
  it('listens on PORT and HOST, and exits cleanly on SIGTERM', async () => {
    const entry = fileURLToPath(new URL('../../examples/services/users.ts', import.meta.url))
    const child = spawn(process.execPath, ['--import', 'tsx', entry], {
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'inherit'],
      // A child that never logs its address is killed, which ends stdout and fails the test instead of hanging it.
      timeout: 15_000
    })
    const exited = once(child, 'exit')
    try {
      const base = await listeningAddress(child.stdout)
      expect(await (await fetch(`${base}/health`)).json()).toEqual({ status: 'ok' })
    } finally {
      child.kill('SIGTERM')
    }
    const [code, signal] = await exited as [number | null, NodeJS.Signals | null]
    expect({ code, signal }).toEqual({ code: 0, signal: null })
  })
})

/** Resolves with the URL from Fastify's "Server listening at …" log line. */
async function listeningAddress (stdout: NodeJS.ReadableStream): Promise<string> {
  let buffered = ''
  for await (const chunk of stdout) {
    buffered += String(chunk)
    const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(buffered)
    if (match?.[1] !== undefined) return match[1]
  }
  throw new Error(`the service exited before listening; output: ${buffered}`)
}
