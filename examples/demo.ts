/**
 * `npm run demo`: the demo fleet (users, two orders replicas, cart) and the gateway in front of it, in one
 * process, using the committed services.json — the README's two-command quickstart.
 * Ports come from the same environment variables as services.json, so the two always agree.
 */
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import { loadConfig } from '../src/config/load.js'
import { shutdownSignal, startGateway } from '../src/server.js'
import { buildCartService } from './services/cart.js'
import { buildOrdersService } from './services/orders.js'
import { buildUsersService } from './services/users.js'

const SERVICES_JSON = fileURLToPath(new URL('../../services.json', import.meta.url))

interface DemoService {
  readonly label: string
  readonly envVar: string
  readonly fallbackPort: number
  readonly build: () => FastifyInstance
}

const FLEET: readonly DemoService[] = [
  { label: 'users', envVar: 'USERS_URL', fallbackPort: 3001, build: () => buildUsersService() },
  { label: 'orders-1', envVar: 'ORDERS_1_URL', fallbackPort: 3002, build: () => buildOrdersService({ replica: 'orders-1' }) },
  { label: 'orders-2', envVar: 'ORDERS_2_URL', fallbackPort: 3003, build: () => buildOrdersService({ replica: 'orders-2' }) },
  { label: 'cart', envVar: 'CART_URL', fallbackPort: 3004, build: () => buildCartService() }
]

async function startFleet (): Promise<FastifyInstance[]> {
  const started: FastifyInstance[] = []
  for (const service of FLEET) {
    const url = new URL(process.env[service.envVar] ?? `http://127.0.0.1:${service.fallbackPort}`)
    const app = service.build()
    await app.listen({ host: url.hostname, port: Number(url.port) })
    started.push(app)
    process.stdout.write(`  ${service.label.padEnd(9)} ${url.origin}\n`)
  }
  return started
}

async function main (): Promise<void> {
  process.stdout.write('Starting the demo fleet:\n')
  const fleet = await startFleet()
  let gateway
  try {
    gateway = await startGateway(await loadConfig(SERVICES_JSON))
  } catch (error) {
    // Without the gateway there is no demo: stop the fleet so the process ends.
    await Promise.all(fleet.map((app) => app.close()))
    throw error
  }
  const base = gateway.url
  process.stdout.write(`
Gatehouse is in front of them at ${base}

Try:
  curl ${base}/users
  curl ${base}/users/1
  curl -X POST ${base}/users -H 'content-type: application/json' -d '{"name":"Grace","email":"grace@example.com"}'
  curl ${base}/orders            # run it twice: two replicas, round-robin
  curl -X PUT ${base}/cart/1/items/notebook -H 'content-type: application/json' -d '{"qty":2}'
  curl '${base}/cart/1?tenant=acme'
  curl --path-as-is ${base}/users/../admin   # 400: dot-segments never reach an upstream
  curl ${base}/_gatehouse/readyz

Ctrl-C stops everything.
`)
  await shutdownSignal()
  await gateway.close()
  await Promise.all(fleet.map((app) => app.close()))
}

main().catch((error: unknown) => {
  process.stderr.write(`demo: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exitCode = 1
})
