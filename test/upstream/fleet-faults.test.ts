/**
 * The issue 5 load test: three replicas under steady load; one is killed, one made to hang, the killed one
 * restarted. Clients see errors only for requests that were in flight on a replica when it failed (plus,
 * for the hang, those sent before its requests timed out and ejected it), never a storm, and the
 * restarted replica gets traffic again.
 */
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import type { RunningGateway } from '../../src/server.js'
import { listeningGatewayFor, oneService } from '../helpers/gateway.js'

/** A replica that can be killed, restarted on the same port, or made to hang. */
class Replica {
  hanging = false
  served = 0
  #server: Server | null = null
  #sockets = new Set<Socket>()
  port = 0

  async start (): Promise<void> {
    const server = createServer((request, response) => {
      request.resume()
      if (this.hanging) return
      if (request.url !== '/health') this.served++
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}')
    })
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket)
      socket.on('close', () => this.#sockets.delete(socket))
    })
    server.listen(this.port, '127.0.0.1')
    await once(server, 'listening')
    this.port = (server.address() as AddressInfo).port
    this.#server = server
  }

  get url (): string {
    return `http://127.0.0.1:${this.port}`
  }

  /** Like a crash: every connection cut, the port closed. */
  async kill (): Promise<void> {
    for (const socket of this.#sockets) socket.destroy()
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()))
    this.#server = null
  }

  async stop (): Promise<void> {
    if (this.#server !== null) await this.kill()
  }
}

let replicas: Replica[] = []
let gateway: RunningGateway | undefined

afterEach(async () => {
  await gateway?.close()
  await Promise.all(replicas.map(async (replica) => replica.stop()))
  replicas = []
  gateway = undefined
})

const CLIENTS = 12

describe('a fleet under steady load', () => {
  it('loses only in-flight requests when replicas die, hang and come back', async () => {
    replicas = [new Replica(), new Replica(), new Replica()]
    for (const replica of replicas) await replica.start()
    const [killed, hung, steady] = replicas as [Replica, Replica, Replica]
    gateway = await listeningGatewayFor(oneService(replicas.map((replica) => replica.url), {
      loadBalancing: { strategy: 'least-request' },
      retries: true,
      timeouts: { responseHeaders: 300 },
      outlierDetection: { consecutiveFailures: 3, baseEjectionTime: 60_000 },
      // A passing check ends an ejection: the restarted replica is back long before the 60 s are over.
      healthCheck: { path: '/health', interval: 100, timeout: 200, healthyThreshold: 1, unhealthyThreshold: 2 }
    }))
    const url = `${gateway.url}/users/1`
    const outcomes = new Map<number, number>()
    const load = { running: true }
    const clients = Array.from({ length: CLIENTS }, async () => {
      while (load.running) {
        const status = await fetch(url).then(async (response) => { await response.arrayBuffer(); return response.status }, () => 0)
        outcomes.set(status, (outcomes.get(status) ?? 0) + 1)
      }
    })
    const pause = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }
    await pause(400)
    await killed.kill()
    await pause(500)
    hung.hanging = true
    await pause(1_000)
    const servedBeforeRestart = killed.served
    await killed.start()
    await pause(1_500)
    load.running = false
    await Promise.all(clients)

    const failures = [...outcomes].filter(([status]) => status !== 200).reduce((sum, [, count]) => sum + count, 0)
    const successes = outcomes.get(200) ?? 0
    expect(successes).toBeGreaterThan(200)
    // Each fault can fail at most the requests in flight on that replica (at most one per client).
    expect(failures).toBeLessThanOrEqual(CLIENTS)
    expect(killed.served).toBeGreaterThan(servedBeforeRestart)
    expect(steady.served).toBeGreaterThan(0)
  }, 15_000)
})
