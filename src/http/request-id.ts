/**
 * X-Request-Id: a client's (or an outer proxy's) id is kept when it is sane, so one id follows a request
 * through every hop; anything too long or with characters outside [A-Za-z0-9._:-] is replaced, so a
 * client cannot inject text into our logs or the upstream's.
 */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

export const REQUEST_ID_HEADER = 'x-request-id'
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

export function requestIdFor (request: IncomingMessage): string {
  const given = request.headers[REQUEST_ID_HEADER]
  return typeof given === 'string' && SANE_REQUEST_ID.test(given) ? given : randomUUID()
}
