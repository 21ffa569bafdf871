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

export interface Generation {
  readonly app: FastifyInstance
  readonly config: GatewayConfig
  /** Fastify's request handler of this instance. */
  readonly handler: RequestListener
  /** The server this instance was given: it never listens, the front door emits onto it. */
  readonly server: Server
  /** Requests handed to this generation whose response has not closed yet. */
  inFlight: number
  /** Sockets this generation upgraded (WebSockets): they stay with it until they close. */
  readonly upgraded: Set<Socket>
  /** Called when inFlight empties once the generation is retiring. */
  whenIdle: (() => void) | null
  /**
   * The 'close' listener of this generation's responses, made once per generation: a response closed
   * (finished, or its connection went away) is one request fewer. Only a count: holding the responses
   * themselves (a Set of them, to find abandoned ones) cost ~20 µs per request and ~30 MB of RSS on the
   * bench, measured A/B.
   */
  readonly settle: () => void
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
    const generation: Generation = {
      app,
      config,
      handler,
      server,
      inFlight: 0,
      upgraded: new Set(),
      whenIdle: null,
      settle () {
        if (--generation.inFlight === 0) generation.whenIdle?.()
      }
    }
    return generation
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
   * Resolves once every request handed to `generation` has its response closed, or after `timeoutMs`:
   * a long poll or a slow upload must not keep an old configuration alive for ever. (Nor does a response
   * queued behind a pipelined request whose client left: Node 20 never closes it, so its generation waits
   * for the timeout.)
   */
  async idle (generation: Generation, timeoutMs: number): Promise<boolean> {
    if (generation.inFlight === 0) return true
    return await new Promise<boolean>((resolve) => {
      const deadline = setTimeout(() => {
        generation.whenIdle = null
        resolve(false)
      }, timeoutMs)
      deadline.unref()
      generation.whenIdle = () => {
        clearTimeout(deadline)
        generation.whenIdle = null
        resolve(true)
      }
    })
  }

  // Arrow properties: made once per front door, never per request.
  readonly #dispatch = (request: IncomingMessage, response: ServerResponse): void => {
    const generation = this.current
    generation.inFlight++
    response.on('close', generation.settle)
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
