/**
 * Response compression for one service (issue 4): decides per response whether compressing is worth it and
 * sends the body compressed or as it is. Two entry points: a proxied body streaming from the upstream, and
 * a complete stored body (cache hit), whose encoded copies are made once and remembered.
 *
 * SKELETON: sends every body unchanged; the decision and the encoders land with plugins/compress.ts.
 */
import type { FastifyReply } from 'fastify'
import type { Readable } from 'node:stream'
import type { CompressionSettings } from '../config/types.js'

export class ResponseCompressor {
  readonly settings: CompressionSettings

  constructor (settings: CompressionSettings) {
    this.settings = settings
  }

  /** A proxied response: the reply already carries the upstream's (filtered) status and headers. */
  sendProxied (reply: FastifyReply, body: Readable): void {
    reply.send(body)
  }

  /**
   * A complete stored body (a cache hit or a revalidated entry): the reply already carries the stored
   * headers. `variantKey` names this exact body (resource, variant and version) so an encoded copy made
   * for one hit serves the next ones.
   */
  sendStored (reply: FastifyReply, body: Buffer, _variantKey: string): void {
    reply.send(body)
  }
}
