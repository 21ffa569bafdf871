/**
 * stale-while-revalidate's background request (RFC 5861 §3): the stale answer is served at once and the
 * same request is replayed through the gateway (inject: auth, limits and the proxy as for any request),
 * once per key at a time. The replay carries a marker only this process can write, naming the key it
 * refreshes: it arrives without TLS and from another peer, so recomputing its key would store elsewhere.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'

export const REFRESH_HEADER = 'x-gatehouse-cache-refresh'

export class BackgroundRefresh {
  readonly #secret: string
  /** Keys being refreshed, by the marker id their replay carries. */
  readonly #keys = new Map<string, string>()
  #count = 0
  #app: FastifyInstance | null = null

  constructor (secret: string) {
    this.#secret = secret
  }

  /** The instance replays are injected into. */
  attach (app: FastifyInstance): void {
    this.#app = app
  }

  /** The key a replay of this cache stores under; undefined for every other request. */
  keyOf (request: FastifyRequest): string | undefined {
    const marker = request.headers[REFRESH_HEADER]
    if (marker === undefined) return undefined
    // Never forwarded, whoever sent it; only this process's secret names a refresh.
    delete request.headers[REFRESH_HEADER]
    if (typeof marker !== 'string' || !marker.startsWith(`${this.#secret}:`)) return undefined
    return this.#keys.get(marker.slice(this.#secret.length + 1))
  }

  start (request: FastifyRequest, key: string): void {
    const app = this.#app
    if (app === null || [...this.#keys.values()].includes(key)) return
    const id = String(++this.#count)
    this.#keys.set(id, key)
    const headers: Record<string, string | string[] | undefined> = { ...request.headers, [REFRESH_HEADER]: `${this.#secret}:${id}` }
    delete headers['if-none-match']
    delete headers['if-modified-since']
    delete headers['content-length']
    // Nobody reads the refresh's answer: never pay for compressing it.
    headers['accept-encoding'] = 'identity'
    app.inject({ method: 'GET', url: request.url, headers: headers as Record<string, string>, remoteAddress: request.ip })
      .catch((error: unknown) => { request.log.warn({ err: error }, 'cache background refresh failed') })
      .finally(() => { this.#keys.delete(id) })
  }
}
