/**
 * Zero-downtime reload (issue 6): a changed configuration is validated, built into a new gateway instance
 * beside the running one, made ready (plugins loaded, key sets fetched), then switched in atomically at
 * the front door. The old instance finishes the requests it has and is closed; what did not change
 * (upstream pools, Redis clients, the response store, rate-limit counters, key rings) passes to the new one
 * through the carryover instead of being closed and rebuilt. A configuration that does not validate, does
 * not build, or changes the listener is refused: the running one keeps serving and every problem is
 * logged with its JSON path.
 */
import { isDeepStrictEqual } from 'node:util'
import type { FastifyBaseLogger } from 'fastify'
import { ConfigInvalidError } from '../errors.js'
import { loadConfig } from '../config/load.js'
import type { ConfigProblem } from '../config/problems.js'
import type { GatewayConfig } from '../config/types.js'
import type { GatewayOptions } from '../gateway.js'
import { kHolding } from '../symbols.js'
import { Carryover } from './carryover.js'
import { listenerChanges } from './fixed-settings.js'
import { FrontDoor, type Generation } from './front-door.js'

export type ReloadTrigger = 'SIGHUP' | 'file change' | 'call'

export interface ServiceChanges {
  readonly added: readonly string[]
  readonly removed: readonly string[]
  readonly changed: readonly string[]
}

export type ReloadResult =
  | { readonly outcome: 'applied', readonly services: ServiceChanges }
  | { readonly outcome: 'refused', readonly problems: readonly ConfigProblem[] }

export class ReloadableGateway {
  readonly door: FrontDoor
  readonly #carryover = new Carryover()
  readonly #options: GatewayOptions
  /** Old generations still finishing their requests, and their closing. */
  readonly #retiring = new Map<Generation, Promise<void>>()
  /** One reload at a time, in the order asked. */
  #queue: Promise<unknown> = Promise.resolve()
  #closed = false

  private constructor (door: FrontDoor, options: GatewayOptions) {
    this.door = door
    this.#options = options
  }

  /** The first generation, ready and switched in; the caller opens the listener. */
  static async start (config: GatewayConfig, options: GatewayOptions): Promise<ReloadableGateway> {
    const gateway = new ReloadableGateway(new FrontDoor(config), options)
    const first = gateway.door.build(config, { ...options, carryover: gateway.#carryover })
    try {
      await first.app.ready()
    } catch (error) {
      await discard(first)
      throw error
    }
    gateway.door.switchTo(first)
    return gateway
  }

  get log (): FastifyBaseLogger {
    return this.door.current.app.log
  }

  /** Reads the running configuration's file again (config.source) and applies it. */
  async reloadFile (trigger: ReloadTrigger): Promise<ReloadResult> {
    return await this.#inTurn(async () => {
      const source = this.door.current.config.source
      if (source === null) return this.#refused(trigger, [{ path: '(file)', message: 'this gateway was not started from a file' }])
      let next: GatewayConfig
      try {
        next = await loadConfig(source)
      } catch (error) {
        if (error instanceof ConfigInvalidError) return this.#refused(trigger, error.problems)
        throw error
      }
      return await this.#apply(next, trigger)
    })
  }

  /** Applies a configuration built in code. */
  async reload (next: GatewayConfig, trigger: ReloadTrigger = 'call'): Promise<ReloadResult> {
    return await this.#inTurn(async () => await this.#apply(next, trigger))
  }

  /**
   * Shutdown begins: the current generation answers 503 to new requests (readyz too), and every
   * generation says goodbye to its WebSocket clients (close frames, which @fastify/http-proxy sends when
   * its server is closed; the servers never listened, so that is all closing them does).
   */
  startDraining (): void {
    this.door.current.app.gatehouse.draining = true
    for (const generation of [this.door.current, ...this.#retiring.keys()]) generation.server.close()
  }

  /**
   * After the listener has closed: closes the current generation and waits for the retiring ones. New
   * reloads are not taken any more.
   */
  async close (): Promise<void> {
    this.#closed = true
    await this.#queue
    await Promise.all([...this.#retiring.values(), this.door.current.app.close()])
  }

  async #apply (next: GatewayConfig, trigger: ReloadTrigger): Promise<ReloadResult> {
    const running = this.door.current
    const problems = listenerChanges(running.config, next)
    if (problems.length > 0) return this.#refused(trigger, problems)
    // One logger for every generation: its destination is opened once, and its level follows the file.
    const log = running.app.log
    const generation = this.door.build(next, { ...this.#options, loggerInstance: log, carryover: this.#carryover })
    try {
      await generation.app.ready()
    } catch (error) {
      await discard(generation)
      return this.#refused(trigger, [{ path: '(gateway)', message: `the new configuration did not start: ${(error as Error).message}` }])
    }
    log.level = next.logLevel
    this.door.switchTo(generation)
    this.#retire(running)
    const services = serviceChanges(running.config, next)
    log.info({ trigger, services, kept: this.#carryover.size }, 'configuration reloaded')
    return { outcome: 'applied', services }
  }

  /** The old generation gets its requests' responses out (up to the drain timeout), then closes. */
  #retire (generation: Generation): void {
    const retired = (async () => {
      const idle = await this.door.idle(generation, generation.config.timeouts.drain)
      if (!idle) generation.app.log.warn({ inFlight: generation.inFlight }, 'reload: the previous configuration still had requests at the drain timeout')
      await generation.app.close()
    })().catch((error: unknown) => {
      generation.app.log.error({ err: error }, 'reload: closing the previous configuration failed')
    }).finally(() => this.#retiring.delete(generation))
    this.#retiring.set(generation, retired)
  }

  #refused (trigger: ReloadTrigger, problems: readonly ConfigProblem[]): ReloadResult {
    const log = this.log
    for (const problem of problems) {
      log.error({ trigger, path: problem.path, problem: problem.message, ...(problem.hint === undefined ? {} : { hint: problem.hint }) },
        `reload refused: ${problem.path}: ${problem.message}`)
    }
    log.warn({ trigger, problems: problems.length }, 'reload refused: the running configuration keeps serving')
    return { outcome: 'refused', problems }
  }

  async #inTurn (work: () => Promise<ReloadResult>): Promise<ReloadResult> {
    const guarded = async (): Promise<ReloadResult> => this.#closed
      ? this.#refused('call', [{ path: '(gateway)', message: 'the gateway is shutting down' }])
      : await work()
    const turn = this.#queue.then(guarded, guarded)
    this.#queue = turn.catch(() => {})
    return await turn
  }
}

/** A generation that never served: closed, and whatever it acquired given back. */
async function discard (generation: Generation): Promise<void> {
  await generation.app.close().catch(() => {})
  await generation.app[kHolding].release()
}

function serviceChanges (before: GatewayConfig, after: GatewayConfig): ServiceChanges {
  const old = new Map(before.services.map((service) => [service.name, service]))
  const now = new Map(after.services.map((service) => [service.name, service]))
  return {
    added: [...now.keys()].filter((name) => !old.has(name)),
    removed: [...old.keys()].filter((name) => !now.has(name)),
    changed: [...now.keys()].filter((name) => old.has(name) && !isDeepStrictEqual(old.get(name), now.get(name)))
  }
}
