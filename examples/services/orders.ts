/**
 * Demo upstream: orders, run as two replicas behind one gateway service. Every response names the replica
 * that produced it, so round-robin is visible from outside. Each replica keeps its own memory: an order
 * created on one is unknown to the other, which is the point a shared store would fix.
 */
import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import type { FastifyInstance } from 'fastify'
import { listenWhenMain } from './run.js'
import { createService, sendProblem, type ServiceOptions } from './service.js'

export interface OrderItem {
  readonly sku: string
  readonly qty: number
}

export interface Order {
  readonly id: string
  readonly userId: string
  readonly items: readonly OrderItem[]
}

export interface OrdersServiceOptions extends ServiceOptions {
  /** Defaults to REPLICA_NAME, then the host name (the container id under compose). */
  readonly replica?: string
}

type NewOrder = Omit<Order, 'id'>

const MAX_ORDERS = 10_000

const newOrderSchema = {
  type: 'object',
  required: ['userId', 'items'],
  additionalProperties: false,
  properties: {
    userId: { type: 'string', minLength: 1, maxLength: 64 },
    items: {
      type: 'array',
      minItems: 1,
      maxItems: 100,
      items: {
        type: 'object',
        required: ['sku', 'qty'],
        additionalProperties: false,
        properties: {
          sku: { type: 'string', minLength: 1, maxLength: 64 },
          qty: { type: 'integer', minimum: 1, maximum: 999 }
        }
      }
    }
  }
} as const

// Both replicas start from the same seed, so `GET /1` answers the same wherever it lands.
const SEED: readonly Order[] = [
  { id: '1', userId: '1', items: [{ sku: 'notebook', qty: 2 }] },
  { id: '2', userId: '2', items: [{ sku: 'pencil', qty: 10 }, { sku: 'eraser', qty: 1 }] }
]

export function buildOrdersService (options: OrdersServiceOptions = {}): FastifyInstance {
  const app = createService(options)
  const replica = options.replica ?? (process.env.REPLICA_NAME || hostname())
  const orders = new Map<string, Order>(SEED.map((order) => [order.id, order]))

  app.get('/', async () => ({ replica, orders: [...orders.values()] }))

  app.get<{ Params: { id: string } }>('/:id', async (request, reply) => {
    const order = orders.get(request.params.id)
    if (order === undefined) return sendProblem(reply, 404, `order ${request.params.id} does not exist on ${replica}`)
    return { ...order, replica }
  })

  app.post<{ Body: NewOrder }>('/', { schema: { body: newOrderSchema } }, async (request, reply) => {
    if (orders.size >= MAX_ORDERS) return sendProblem(reply, 507, `the demo keeps at most ${MAX_ORDERS} orders`)
    // Random ids: two replicas counting from the same seed would hand out the same number.
    const order: Order = { id: randomUUID(), userId: request.body.userId, items: request.body.items }
    orders.set(order.id, order)
    return reply.code(201).header('location', `/${order.id}`).send({ ...order, replica })
  })

  return app
}

await listenWhenMain(import.meta.url, buildOrdersService, 3002)
