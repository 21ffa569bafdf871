/**
 * One listener for a gateway whose configuration can change while it runs (issue 6). Each configuration
 * is a Fastify instance of its own (a "generation"); none of them owns the listener. The listener hands
 * every request to the current generation, so switching generations is one assignment: requests already
 * dispatched finish on the generation they started on, the next request on the same keep-alive connection
 * goes to the new one, and no connection is refused or reset.
 *
 * A generation's Fastify instance is given a server that never listens (Fastify's serverFactory): the
 * listener re-emits onto it what Fastify and @fastify/http-proxy listen for there (`clientError`,
 * `upgrade`).
 */
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'
import type { GatewayConfig } from '../config/types.js'
import { buildGateway, createListener, type GatewayOptions } from '../gateway.js'

const kGeneration = Symbol('gatehouse.generation')

export interface Generation {
  readonly app: FastifyInstance
  readonly config: GatewayConfig
  /** Fastify's request handler of this instance. */
  readonly handler: RequestListener
  /** The server this instance was given: it never listens, the front door emits onto it. */
  readonly server: Server
  /** Responses to requests handed to this generation that have not closed yet. */
  readonly inFlight: Set<ServerResponse>
  /** Sockets this generation upgraded (WebSockets): they stay with it until they close. */
  readonly upgraded: Set<Socket>
  /** Called when inFlight empties once the generation is retiring. */
  whenIdle: (() => void) | null
}

type Dispatched = ServerResponse & { [kGeneration]?: Generation }

/** How often a retiring generation looks for responses whose connection is gone (see `idle`). */
const ABANDONED_SWEEP_MS = 250

/** A response closed (finished, or its connection went away): one request fewer on its generation. */
function settleInFlight (this: Dispatched): void {
  const generation = this[kGeneration] as Generation
  generation.inFlight.delete(this)
  if (generation.inFlight.size === 0) generation.whenIdle?.()
}

export class FrontDoor {
  readonly listener: Server
  #current: Generation | null = null

  constructor (config: GatewayConfig) {
    this.listener = createListener(config, this.#dispatch)
    this.listener.on('clientError', this.#forwardClientError)
  }

  get current (): Generation {
    if (this.#current === null) throw new Error('no gateway instance has been switched in yet')
    return this.#current
  }

  /** A Fastify instance for `config` that gets its requests from this listener once switched in (not yet). */
  build (config: GatewayConfig, options: GatewayOptions): Generation {
    let handler: RequestListener | null = null
    const server = createServer()
    // Fastify and team plugins asking their server where it listens get the listener's answer.
    Object.defineProperty(server, 'listening', { get: () => this.listener.listening })
    server.address = () => this.listener.address()
    const app = buildGateway(config, {
      ...options,
      serverFactory: (fastifyHandler) => {
        handler = fastifyHandler
        return server
      }
    })
    if (handler === null) throw new Error('Fastify did not hand over its request handler')
    return { app, config, handler, server, inFlight: new Set(), upgraded: new Set(), whenIdle: null }
  }

  /** From now on every request goes to `next`; returns the generation it replaces. */
  switchTo (next: Generation): Generation | null {
    const previous = this.#current
    this.#current = next
    // Node treats an upgrade request as a plain request when the listener has no 'upgrade' listener;
    // keep it that way for configurations without WebSocket services.
    const upgrades = next.server.listenerCount('upgrade') > 0
    this.listener.off('upgrade', this.#forwardUpgrade)
    if (upgrades) this.listener.on('upgrade', this.#forwardUpgrade)
    return previous
  }

  /**
   * Resolves once every request handed to `generation` has its response closed, or after `timeoutMs`
   * (a long poll or a slow upload must not keep an old configuration alive for ever). A response queued
   * behind a pipelined one never emits 'close' when the client goes away first (Node 20): one whose
   * connection is gone counts as done.
   */
  async idle (generation: Generation, timeoutMs: number): Promise<boolean> {
    const { inFlight } = generation
    const forgetAbandoned = (): void => {
      for (const response of inFlight) if (response.req.socket?.destroyed ?? true) inFlight.delete(response)
    }
    forgetAbandoned()
    if (inFlight.size === 0) return true
    return await new Promise<boolean>((resolve) => {
      const done = (idle: boolean): void => {
        clearTimeout(deadline)
        clearInterval(sweep)
        generation.whenIdle = null
        resolve(idle)
      }
      const deadline = setTimeout(() => done(false), timeoutMs)
      const sweep = setInterval(() => {
        forgetAbandoned()
        if (inFlight.size === 0) done(true)
      }, ABANDONED_SWEEP_MS)
      deadline.unref()
      sweep.unref()
      generation.whenIdle = () => done(true)
    })
  }

  // Arrow properties: made once per front door, never per request.
  readonly #dispatch = (request: IncomingMessage, response: ServerResponse): void => {
    const generation = this.current
    generation.inFlight.add(response)
    ;(response as Dispatched)[kGeneration] = generation
    response.once('close', settleInFlight)
    generation.handler(request, response)
  }

  readonly #forwardClientError = (error: Error, socket: Socket): void => {
    this.current.server.emit('clientError', error, socket)
  }

  readonly #forwardUpgrade = (request: IncomingMessage, socket: Socket, head: Buffer): void => {
    const generation = this.current
    generation.upgraded.add(socket)
    socket.once('close', () => generation.upgraded.delete(socket))
    generation.server.emit('upgrade', request, socket, head)
  }
}
