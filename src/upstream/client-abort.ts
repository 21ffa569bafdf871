/**
 * A client that leaves before its response is complete — even before the upstream sent headers — aborts
 * the upstream request, so it does not hold a pooled connection until a timeout (issue 2: "client aborts
 * free the upstream request"), and still gets its access-log line.
 *
 * @fastify/reply-from gives undici no abort signal, and the only per-request value it hands the dispatcher
 * is the headers object (copied with Object.assign, which keeps symbol keys; undici reads string keys
 * only). So the client's ServerResponse rides on the headers under a Symbol, and the dispatcher passes it
 * to undici as the request's `signal`: undici accepts an EventEmitter that emits 'abort'. That costs one
 * `once` listener per request, where an AbortController per request would cost microseconds.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Dispatcher } from 'undici'
import { logUnfinishedRequest } from '../http/access-log.js'
import { kClientResponse } from '../symbols.js'

const kAbortSignal = Symbol('gatehouse.abortSignal')

type SignalledHeaders = IncomingHttpHeaders & { [kAbortSignal]?: ServerResponse }

const kReply = Symbol('gatehouse.reply')

type WatchedResponse = ServerResponse & { [kReply]?: FastifyReply }

/** On the client's response 'close': an unfinished response aborts the upstream request and is logged. */
function onClientResponseClose (this: WatchedResponse): void {
  if (this.writableFinished) return
  this.emit('abort')
  const reply = this[kReply]
  if (reply) logUnfinishedRequest(reply.request, reply)
}

/** The proxy handler (@fastify/http-proxy's `handler` option): watch the client, then proxy as usual. */
export function proxyWatchingClient (request: FastifyRequest, reply: FastifyReply, dest: string, options: object): void {
  // The client may have left while earlier hooks ran (a team plugin's async onRequest): nothing to proxy.
  if (reply.raw.destroyed) return
  // `on`, not `once`: 'close' fires once anyway, and `once` allocates a wrapper per request.
  reply.raw.on('close', onClientResponseClose);
  (reply.raw as WatchedResponse)[kReply] = reply
  request[kClientResponse] = reply.raw
  // http-proxy hands '' for the bare prefix with a query (/users?x=1); reply.from('') would fall back to
  // the client's URL and keep the prefix.
  reply.from(dest === '' ? '/' : dest, options)
}

/** Called from rewriteRequestHeaders: carry the client's response to the dispatcher. */
export function carryClientSignal<T extends IncomingHttpHeaders> (request: FastifyRequest, headers: T): T {
  (headers as SignalledHeaders)[kAbortSignal] = request[kClientResponse] ?? undefined
  return headers
}

/** The client's response a request to the dispatcher carries (see carryClientSignal), if any. */
export function clientResponseOf (headers: unknown): ServerResponse | undefined {
  return (headers as SignalledHeaders | undefined)?.[kAbortSignal]
}

/** The Fastify request behind a request to the dispatcher, for the access log's upstream. */
export function fastifyRequestOf (headers: unknown): FastifyRequest | undefined {
  return (clientResponseOf(headers) as WatchedResponse | undefined)?.[kReply]?.request
}

export type RequestCallback = (error: Error | null, data?: Dispatcher.ResponseData) => void

/** Wraps the service's undici Agent: requests get the client's response as their abort signal. */
export class ClientAwareDispatcher {
  readonly #inner: Dispatcher

  constructor (inner: Dispatcher) {
    this.#inner = inner
  }

  request (options: Dispatcher.RequestOptions & { signal?: unknown }, callback: RequestCallback): void {
    const signal = (options.headers as SignalledHeaders | undefined)?.[kAbortSignal]
    if (signal !== undefined) options.signal = signal
    this.#inner.request(options as Dispatcher.RequestOptions, callback)
  }

  close (): Promise<void> {
    return this.#inner.close()
  }
}
