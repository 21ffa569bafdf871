/**
 * Demo upstream: one cart per user, in memory. GET echoes the `x-tenant` header as `tenant`, which shows
 * that the cart service's own gateway plugin (examples/policies/tenant-header.js) ran before the proxy.
 */
import type { FastifyInstance } from 'fastify'
import { listenWhenMain } from './run.js'
import { createService, sendProblem, type ServiceOptions } from './service.js'

export interface CartItem {
  readonly sku: string
  readonly qty: number
}

export interface Cart {
  readonly userId: string
  readonly items: CartItem[]
  readonly tenant?: string
}

const MAX_CARTS = 10_000
const MAX_ITEMS_PER_CART = 100

interface CartParams { userId: string }
interface ItemParams extends CartParams { sku: string }

const itemParamsSchema = {
  type: 'object',
  required: ['userId', 'sku'],
  properties: {
    userId: { type: 'string', minLength: 1, maxLength: 64 },
    sku: { type: 'string', minLength: 1, maxLength: 64 }
  }
} as const

const quantitySchema = {
  type: 'object',
  required: ['qty'],
  additionalProperties: false,
  properties: { qty: { type: 'integer', minimum: 1, maximum: 999 } }
} as const

export function buildCartService (options: ServiceOptions = {}): FastifyInstance {
  const app = createService(options)
  // userId → (sku → qty); Map keeps insertion order, so items list in the order they were added.
  const carts = new Map<string, Map<string, number>>()
  const cartOf = (userId: string): Cart => ({
    userId,
    items: [...(carts.get(userId) ?? [])].map(([sku, qty]) => ({ sku, qty }))
  })

  app.get<{ Params: CartParams }>('/:userId', async (request) => {
    const tenant = request.headers['x-tenant']
    const cart = cartOf(request.params.userId)
    return typeof tenant === 'string' ? { ...cart, tenant } : cart
  })

  app.put<{ Params: ItemParams, Body: { qty: number } }>('/:userId/items/:sku', {
    schema: { params: itemParamsSchema, body: quantitySchema }
  }, async (request, reply) => {
    const { userId, sku } = request.params
    const items = carts.get(userId) ?? new Map<string, number>()
    if (!carts.has(userId) && carts.size >= MAX_CARTS) {
      return sendProblem(reply, 507, `the demo keeps at most ${MAX_CARTS} carts`)
    }
    if (!items.has(sku) && items.size >= MAX_ITEMS_PER_CART) {
      return sendProblem(reply, 507, `a cart holds at most ${MAX_ITEMS_PER_CART} different items`)
    }
    items.set(sku, request.body.qty)
    carts.set(userId, items)
    return cartOf(userId)
  })

  app.delete<{ Params: ItemParams }>('/:userId/items/:sku', {
    schema: { params: itemParamsSchema }
  }, async (request, reply) => {
    const { userId, sku } = request.params
    const items = carts.get(userId)
    if (items?.delete(sku) !== true) return sendProblem(reply, 404, `item ${sku} is not in the cart of ${userId}`)
    if (items.size === 0) carts.delete(userId)
    return reply.code(204).send()
  })

  return app
}

await listenWhenMain(import.meta.url, buildCartService, 3004)
