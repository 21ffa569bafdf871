import { Transform, type TransformCallback } from 'node:stream'
import { BodyTooLargeError } from '../errors.js'

/**
 * Counts a chunked request body on its way to the upstream and fails the stream once it passes the limit
 * (Fastify's bodyLimit does not apply to bodies that are streamed instead of parsed; design.md §4).
 */
export class BodyLimitStream extends Transform {
  readonly #limit: number
  #received = 0

  constructor (limit: number) {
    super()
    this.#limit = limit
  }

  override _transform (chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#received += chunk.length
    if (this.#received > this.#limit) {
      callback(new BodyTooLargeError(this.#limit))
      return
    }
    callback(null, chunk)
  }
}
