/**
 * A client that leaves before its response is complete — even before the upstream sent headers — aborts
 * the upstream request, so it does not hold a pooled connection until a timeout (issue 2: "client aborts
 * free the upstream request"), and still gets its access-log line.
 *
 * src/proxy/forward.ts gives undici the client's ServerResponse as the request's `signal` (undici accepts
 * an EventEmitter that emits 'abort'), and the reply as its `opaque`. That costs one listener per request,
 * where an AbortController per request would cost microseconds.
 */
import type { ServerResponse } from 'node:http'
import type { FastifyReply } from 'fastify'
import type { Dispatcher } from 'undici'
import { logUnfinishedRequest } from '../http/access-log.js'

const kReply = Symbol('gatehouse.reply')

type WatchedResponse = ServerResponse & { [kReply]?: FastifyReply }

/** On the client's response 'close': an unfinished response aborts the upstream request and is logged. */
function onClientResponseClose (this: WatchedResponse): void {
  if (this.writableFinished) return
  this.emit('abort')
  const reply = this[kReply]
  if (reply) logUnfinishedRequest(reply.request, reply)
}

/**
 * The client is gone: its connection (HTTP/1) or its stream (HTTP/2) is destroyed. Node's HTTP/2
 * compatibility response has no `destroyed` of its own, only its stream's.
 */
export function clientLeft (reply: FastifyReply): boolean {
  const response = reply.raw as ServerResponse & { stream?: { destroyed: boolean } }
  return response.destroyed === true || response.stream?.destroyed === true
}

/**
 * Before a request is proxied: watch its client. False when the client already left (while a team
 * plugin's async onRequest ran, say): nothing to proxy.
 */
export function watchClient (reply: FastifyReply): boolean {
  if (clientLeft(reply)) return false
  // `on`, not `once`: 'close' fires once anyway, and `once` allocates a wrapper per request.
  reply.raw.on('close', onClientResponseClose);
  (reply.raw as WatchedResponse)[kReply] = reply
  return true
}

/** The reply a request to the dispatcher answers (its `opaque`, set by src/proxy/forward.ts), if any. */
export function replyOf (options: Dispatcher.RequestOptions<unknown>): FastifyReply | undefined {
  return (options.opaque ?? undefined) as FastifyReply | undefined
}

/** What undici's request() hands its callback: the answer, or with an error only the request's `opaque`. */
export type RequestAnswer = Dispatcher.ResponseData | { readonly opaque: unknown }

export type RequestCallback = (error: Error | null, answer: RequestAnswer) => void
