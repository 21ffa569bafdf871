/**
 * The header changes that go with content negotiation on Accept-Encoding.
 * - `Vary: Accept-Encoding` on every response that could have been compressed, identity ones included:
 *   a downstream cache must not hand a gzip body to a client that never asked for it, nor the reverse
 *   (RFC 9110 §12.5.5). `Vary: *` already says everything and stays as it is.
 * - A compressed body is a different representation: strong ETags become weak (RFC 9110 §8.8.3: a strong
 *   validator names exact bytes), its length is the encoder's, and byte ranges of it are not served
 *   (a range request is answered with identity bytes, so Accept-Ranges would invite a client to resume a
 *   compressed download at the wrong offset).
 */
import type { FastifyReply } from 'fastify'
import type { CompressionEncoding } from '../config/types.js'

const LISTS_ACCEPT_ENCODING = /(?:^|,)\s*(?:accept-encoding|\*)\s*(?:,|$)/i

export function varyOnAcceptEncoding (reply: FastifyReply): void {
  const vary = reply.getHeader('vary')
  const listed = vary === undefined ? '' : Array.isArray(vary) ? vary.join(', ') : String(vary).trim()
  if (listed === '') reply.header('vary', 'Accept-Encoding')
  else if (!LISTS_ACCEPT_ENCODING.test(listed)) reply.header('vary', `${listed}, Accept-Encoding`)
}

/** Marks the reply as carrying `encoding`; the caller sets Content-Length when it knows it. */
export function markEncoded (reply: FastifyReply, encoding: CompressionEncoding): void {
  reply.header('content-encoding', encoding)
  reply.removeHeader('content-length')
  reply.removeHeader('accept-ranges')
  const etag = reply.getHeader('etag')
  if (typeof etag === 'string' && etag.startsWith('"')) reply.header('etag', `W/${etag}`)
}
