/** The origin server: bare Fastify with two precomputed JSON bodies. Announces its URL on stderr. */
import { once } from 'node:events'
import { createServer } from 'node:http'
import Fastify from 'fastify'
import { announceUrl } from './child-protocol.js'

const LARGE_BODY_BYTES = 20_000

const SMALL_BODY = JSON.stringify({
  id: 42,
  name: 'small response',
  status: 'ok',
  tags: ['bench', 'gatehouse'],
  updatedAt: '2025-01-01T00:00:00Z'
})

const LARGE_BODY = buildLargeBody(LARGE_BODY_BYTES)
const CACHEABLE = 'public, max-age=3600'

/** A JSON array of catalogue-like items, grown until it reaches `bytes`. */
function buildLargeBody (bytes: number): string {
  const items: object[] = []
  let text = '[]'
  for (let id = 0; text.length < bytes; id++) {
    items.push({
      id,
      sku: `SKU-${String(id).padStart(6, '0')}`,
      name: `Item number ${id}`,
      price: Math.round(((id * 7919) % 10_000)) / 100,
      inStock: id % 3 !== 0,
      tags: ['bench', `group-${id % 10}`]
    })
    text = JSON.stringify(items)
  }
  return text
}

const app = Fastify({ logger: false })

app.get('/small', (_request, reply) => {
  reply.type('application/json').send(SMALL_BODY)
})

app.get('/large', (_request, reply) => {
  reply.type('application/json').send(LARGE_BODY)
})

// The same bodies, storable by a shared cache for an hour (the cache targets).
app.get('/cached/small', (_request, reply) => {
  reply.type('application/json').header('cache-control', CACHEABLE).send(SMALL_BODY)
})

app.get('/cached/large', (_request, reply) => {
  reply.type('application/json').header('cache-control', CACHEABLE).send(LARGE_BODY)
})

const url = await app.listen({ host: '127.0.0.1', port: 0 })
// BACKEND_REPLICA_PORTS: more listeners of this same process, the replicas of the pool target. One process
// keeps the machine's load the same as for every other target: only the gateway's pool work differs.
for (const port of (process.env.BACKEND_REPLICA_PORTS ?? '').split(',').filter((text) => text !== '')) {
  const replica = createServer((request, response) => { app.routing(request, response) })
  replica.listen(Number(port), '127.0.0.1')
  await once(replica, 'listening')
}
announceUrl(url)
