/**
 * `npm run demo`: the demo fleet (users, two orders replicas, cart) and the gateway in front of it, in one
 * process, using the committed services.json — the README's two-command quickstart.
 * Ports come from the same environment variables as services.json, so the two always agree.
 */
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import { randomBytes } from 'node:crypto'
import { mintDevToken } from '../src/auth/dev-token.js'
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
  // services.json requires a token secret from the environment; the demo makes one up for this run.
  process.env.GATEHOUSE_JWT_SECRET ??= randomBytes(32).toString('base64url')
  const config = await loadConfig(SERVICES_JSON)
  const reader = await demoToken(config.auth, 'alice', 'orders:read')
  const writer = await demoToken(config.auth, 'bob', 'orders:read orders:write')
  process.stdout.write('Starting the demo fleet:\n')
  const fleet = await startFleet()
  let gateway
  try {
    gateway = await startGateway(config)
  } catch (error) {
    // Without the gateway there is no demo: stop the fleet so the process ends.
    await Promise.all(fleet.map((app) => app.close()))
    throw error
  }
  const base = gateway.url
  process.stdout.write(`
Gatehouse is in front of them at ${base}

Tokens for this run (signed with GATEHOUSE_JWT_SECRET; \`gatehouse token --sub NAME --scope ...\` mints more):
  READER='${reader}'
  WRITER='${writer}'

Try:
  curl ${base}/users                                        # public: the list needs no token
  curl -i ${base}/users/1                                   # 401 with WWW-Authenticate: Bearer
  curl -H "authorization: Bearer $READER" ${base}/users/1
  curl -i -H "authorization: Bearer $READER" ${base}/orders  # twice: two replicas; RateLimit headers
  curl -X POST -H "authorization: Bearer $READER" ${base}/orders    # 403: needs orders:write
  curl -X POST -H "authorization: Bearer $WRITER" -H 'content-type: application/json' \\
       -d '{"userId":"1","items":[{"sku":"notebook","qty":2}]}' ${base}/orders
  curl -X PUT -H "authorization: Bearer $READER" -H 'content-type: application/json' -d '{"qty":2}' ${base}/cart/1/items/notebook
  curl --path-as-is ${base}/users/../admin                  # 400: dot-segments never reach an upstream
  curl ${base}/_gatehouse/readyz

Ctrl-C stops everything.
`)
  await shutdownSignal()
  await gateway.close()
  await Promise.all(fleet.map((app) => app.close()))
}

async function demoToken (auth: Parameters<typeof mintDevToken>[0], subject: string, scope: string): Promise<string> {
  const minted = await mintDevToken(auth, { subject, scope, ttl: '8h' })
  if (minted.token === undefined) throw new Error(`cannot mint a demo token: ${minted.problem ?? 'unknown'}`)
  return minted.token
}

main().catch((error: unknown) => {
  process.stderr.write(`demo: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exitCode = 1
})
