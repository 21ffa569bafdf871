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
  readonly #options: GatewayOptions
  /** Old generations still finishing their requests, and their closing. */
  readonly #retiring = new Map<Generation, Promise<void>>()
  /** Closed generations that still carry WebSockets: shutdown says goodbye to those clients too. */
  readonly #carryingWebSockets = new Set<Generation>()
  /**
   * The first generation's logger: every later one logs through a child of it, so the chain of loggers
   * does not grow with each reload and the destination is opened once.
   */
  readonly #log: FastifyBaseLogger
  /** One reload at a time, in the order asked. */
  #queue: Promise<unknown> = Promise.resolve()
  /** Set when shutdown begins: no reload is started or switched in after that. */
  #stopping = false

  private constructor (door: FrontDoor, first: Generation, options: GatewayOptions) {
    this.door = door
    this.#log = first.app.log
    this.#options = options
  }

  /** The first generation, ready and switched in; the caller opens the listener. */
  static async start (config: GatewayConfig, options: GatewayOptions): Promise<ReloadableGateway> {
    const door = new FrontDoor(config)
    const carryover = new Carryover()
    const first = door.build(config, { ...options, carryover })
    try {
      await first.app.ready()
    } catch (error) {
      await discard(first)
      throw error
    }
    door.switchTo(first)
    return new ReloadableGateway(door, first, { ...options, carryover })
  }

  get log (): FastifyBaseLogger {
    return this.door.current.app.log
  }

  /** The drain timeout of the configuration serving now. */
  get drainTimeout (): number {
    return this.door.current.config.timeouts.drain
  }

  /** Reads the running configuration's file again (config.source) and applies it. */
  async reloadFile (trigger: ReloadTrigger): Promise<ReloadResult> {
    return await this.#inTurn(trigger, async () => {
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
    return await this.#inTurn(trigger, async () => await this.#apply(next, trigger))
  }

  /**
   * Shutdown begins: the current generation answers 503 to new requests (readyz too), and every
   * generation says goodbye to its WebSocket clients (close frames, which @fastify/http-proxy sends when
   * its server is closed; the servers never listened, so that is all closing them does).
   */
  startDraining (): void {
    this.#stopping = true
    this.door.current.app.gatehouse.draining = true
    for (const generation of [this.door.current, ...this.#retiring.keys(), ...this.#carryingWebSockets]) generation.server.close()
  }

  /** After the listener has closed: waits for a reload in progress, closes the current generation, waits for the retiring ones. */
  async close (): Promise<void> {
    this.#stopping = true
    await this.#queue
    await Promise.all([...this.#retiring.values(), this.door.current.app.close()])
  }

  async #apply (next: GatewayConfig, trigger: ReloadTrigger): Promise<ReloadResult> {
    const running = this.door.current
    const problems = listenerChanges(running.config, next)
    if (problems.length > 0) return this.#refused(trigger, problems)
    // The level follows the file, unless the embedder handed in a logger of their own. Set before the
    // build: the new instance's logger is a child, and takes the level its parent has when it is made.
    const runningLevel = this.#log.level
    if (this.#options.loggerInstance === undefined) this.#log.level = next.logLevel
    const generation = this.door.build(next, { ...this.#options, loggerInstance: this.#log })
    let problem: ConfigProblem | null = null
    try {
      await generation.app.ready()
    } catch (error) {
      problem = { path: '(gateway)', message: `the new configuration did not start: ${(error as Error).message}` }
    }
    // Shutdown began while it was getting ready: it would serve without draining.
    if (problem === null && this.#stopping) problem = SHUTTING_DOWN
    if (problem !== null) {
      this.#log.level = runningLevel
      await discard(generation)
      return this.#refused(trigger, [problem])
    }
    this.door.switchTo(generation)
    this.#retire(running)
    const services = serviceChanges(running.config, next)
    this.#log.info({ trigger, services }, 'configuration reloaded')
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
    }).finally(() => {
      this.#retiring.delete(generation)
      for (const carrying of this.#carryingWebSockets) if (carrying.upgraded.size === 0) this.#carryingWebSockets.delete(carrying)
      // Its WebSockets keep the policy they were opened under until they close (or shutdown closes them).
      if (generation.upgraded.size > 0) this.#carryingWebSockets.add(generation)
    })
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

  async #inTurn (trigger: ReloadTrigger, work: () => Promise<ReloadResult>): Promise<ReloadResult> {
    const guarded = async (): Promise<ReloadResult> => this.#stopping ? this.#refused(trigger, [SHUTTING_DOWN]) : await work()
    const turn = this.#queue.then(guarded, guarded)
    this.#queue = turn.catch(() => {})
    return await turn
  }
}

const SHUTTING_DOWN: ConfigProblem = { path: '(gateway)', message: 'the gateway is shutting down' }

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
