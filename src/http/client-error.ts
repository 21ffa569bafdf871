/**
 * Errors Node's HTTP parser raises before Fastify sees a request (oversized head, header timeout,
 * malformed request line) answered as problem+json too, instead of Fastify's default JSON shape.
 */
import type { Socket } from 'node:net'
import { BadRequestError, HeadersTooLargeError, RequestTimeoutError } from '../errors.js'
import { PROBLEM_CONTENT_TYPE, problemFor } from './problem.js'

export function answerClientError (error: NodeJS.ErrnoException, socket: Socket): void {
  // A reset socket has nobody left to answer (https://nodejs.org/api/http.html#event-clienterror).
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const fault = error.code === 'HPE_HEADER_OVERFLOW'
    ? new HeadersTooLargeError()
    : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? new RequestTimeoutError() : new BadRequestError()
  const problem = problemFor(fault)
  const body = JSON.stringify(problem)
  // A response still in flight on this socket (pipelining) must not get a second status line inside it.
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage
  if (socket.writable && inFlight?.headersSent !== true) {
    socket.write(
      `HTTP/1.1 ${problem.status} ${problem.title}\r\n` +
      'Connection: close\r\n' +
      `Content-Type: ${PROBLEM_CONTENT_TYPE}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
    )
  }
  socket.destroy()
}
