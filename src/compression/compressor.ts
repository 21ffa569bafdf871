/**
 * Response compression for one service (issue 4): decides per response whether compressing is worth it and
 * sends the body compressed or as it is. Two entry points: a proxied body streaming from the upstream, and
 * a complete stored body (cache hit), whose encoded copies are made once and remembered.
 *
 * Most responses are not compressed (small, binary, or the client takes none), so that path reads a few
 * headers and sends: no allocation, no closure. In order:
 * 1. worth it? — known length ≥ threshold and the headers allow it (eligibility.ts); if not, sent as is;
 * 2. `Vary: Accept-Encoding`, since from here the representation depends on the client;
 * 3. the client's coding (negotiate.ts); HEAD always gets identity: it has no body to encode, and its
 *    headers stay those of the identity GET (Content-Length, strong ETag) while carrying the same Vary;
 * 4. encode: a proxied body up to 64 KiB is encoded in one call once it has arrived (proxy/whole-body.ts),
 *    a larger one streams through zlib (no Content-Length); stored ones are encoded once per version and
 *    coding. Both of the former are sent with their exact length.
 */
import { pipeline, type Readable } from 'node:stream'
import type { FastifyReply } from 'fastify'
import type { CompressionEncoding, CompressionSettings } from '../config/types.js'
import { isTransformable, isTransformableAs } from './eligibility.js'
import { ContentEncoders, isAvailable } from './encoders.js'
import { DEFAULT_ENCODED_COPY_LIMITS, EncodedCopies, type EncodedCopyLimits } from './encoded-copies.js'
import { negotiateEncoding } from './negotiate.js'
import { isSentWhole, sendWhole } from '../proxy/whole-body.js'
import { markEncoded, varyOnAcceptEncoding } from './representation-headers.js'

export class ResponseCompressor {
  readonly settings: CompressionSettings
  /** Encoded copies of stored bodies; its counters are what tests and metrics read. */
  readonly copies: EncodedCopies
  readonly #offered: readonly CompressionEncoding[]
  readonly #threshold: number
  readonly #encoders: ContentEncoders

  constructor (settings: CompressionSettings, copyLimits: EncodedCopyLimits = DEFAULT_ENCODED_COPY_LIMITS) {
    this.settings = settings
    this.copies = new EncodedCopies(copyLimits)
    this.#offered = settings.encodings.filter(isAvailable)
    this.#threshold = settings.threshold
    this.#encoders = new ContentEncoders(settings)
  }

  /** A proxied response: the reply already carries the upstream's (filtered) status and headers. */
  sendProxied (reply: FastifyReply, body: Readable): void {
    // Unknown length (chunked, often a stream read as it comes): NaN, so sent as is with its length.
    const length = Number(reply.getHeader('content-length'))
    const encoding = this.#encodingWorthIt(reply, length)
    if (isSentWhole(reply, length)) {
      sendWhole(reply, body, encoding, this.#encoders)
      return
    }
    if (encoding === null) {
      reply.send(body)
      return
    }
    markEncoded(reply, encoding)
    const encoder = this.#encoders.stream(encoding, length)
    // Before reply.send, so it runs before Fastify's own listener: see cutConnection.
    encoder.once('error', cutConnection.bind(reply))
    // pipeline: an upstream failure destroys the encoder, a client leaving destroys the upstream body.
    pipeline(body, encoder, settled)
    reply.send(encoder)
  }

  /**
   * A complete stored body (a cache hit or a revalidated entry): the reply already carries the stored
   * headers. `variantKey` names this exact body (resource, variant and version) so an encoded copy made
   * for one hit serves the next ones. The first hit of a version is answered once its copy is encoded,
   * after this returns.
   */
  sendStored (reply: FastifyReply, body: Buffer, variantKey: string): void {
    const encoding = this.#encodingWorthIt(reply, body.length)
    if (encoding === null) {
      reply.send(body)
      return
    }
    const key = `${variantKey}\n${encoding}`
    const copy = this.copies.get(key)
    if (copy !== undefined) {
      sendEncoded(reply, encoding, copy)
      return
    }
    this.copies.fill(key, (done) => { this.#encoders.encode(encoding, body, done) }, (error, encoded) => {
      if (reply.sent) return
      if (encoded === null) {
        // Nothing was sent yet: the identity body is still a correct answer.
        reply.log.warn({ err: error, encoding }, 'compressing a stored body failed; sent as is')
        reply.send(body)
        return
      }
      sendEncoded(reply, encoding, encoded)
    })
  }

  /**
   * A 304 answered from a stored body of `length` bytes whose fields are `stored`: it carries the Vary and
   * the ETag the 200 would have carried for this client (RFC 9110 §15.4.5), weakened when that 200 would
   * have been compressed. The reply already has the stored ETag and Vary.
   */
  describeNotModified (reply: FastifyReply, stored: Readonly<Record<string, string | string[]>>, length: number): void {
    if (!(length > 0 && length >= this.#threshold) || !isTransformableAs(200, { getHeader: (name) => stored[name] })) return
    if (this.#encodingFor(reply) === null) return
    const etag = reply.getHeader('etag')
    if (typeof etag === 'string' && etag.startsWith('"')) reply.header('etag', `W/${etag}`)
  }

  /** The coding to send a body of `length` bytes in, or null: empty, below the threshold, not eligible, or identity. */
  #encodingWorthIt (reply: FastifyReply, length: number): CompressionEncoding | null {
    if (!(length > 0 && length >= this.#threshold) || !isTransformable(reply)) return null
    return this.#encodingFor(reply)
  }

  #encodingFor (reply: FastifyReply): CompressionEncoding | null {
    varyOnAcceptEncoding(reply)
    const request = reply.request
    if (request.method === 'HEAD') return null
    return negotiateEncoding(request.headers['accept-encoding'], this.#offered)
  }
}

function sendEncoded (reply: FastifyReply, encoding: CompressionEncoding, encoded: Buffer): void {
  markEncoded(reply, encoding)
  reply.header('content-length', encoded.length)
  reply.send(encoded)
}

/**
 * An upstream or zlib failure while streaming. zlib holds output back until it has a full chunk, so the
 * head has usually not gone out yet, and Fastify would answer the error with a problem document under this
 * response's Content-Encoding, ETag and Cache-Control: undecodable, and cacheable downstream. Committing
 * the head (nothing is written yet) makes Fastify treat it as a failure after the headers and destroy the
 * connection instead: the client sees a cut response, as it would for an uncompressed body.
 * Only once Fastify has copied the reply's headers to the response (sendStream): before that, the head
 * would go out empty.
 */
function cutConnection (this: FastifyReply): void {
  const response = this.raw
  if (!response.headersSent && response.hasHeader('content-encoding')) response.writeHead(response.statusCode)
}

// The error, if any, reaches Fastify through the encoder it sends: it logs it and ends the response.
function settled (): void {}
