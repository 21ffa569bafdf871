/**
 * Compression for one service's scope (issue 4). The work happens where bodies are sent: the proxy's
 * onResponse and the cache call the scope's ResponseCompressor (src/compression/compressor.ts), which
 * decides from the response's headers and encodes with node:zlib.
 *
 * @fastify/compress is deliberately not registered (design.md §4):
 * - its request decompression (on unless `global: false`) inflates bodies but forwards their
 *   Content-Encoding upstream; here request bodies reach the upstream byte for byte, encoding and all;
 * - even with `global: false` it adds an onRequest hook to every route of the scope, a cost on every
 *   request for a `reply.compress()` we cannot use: it ignores its threshold for streams, negotiates again
 *   with its own rules (`*` and `x-gzip` become gzip, so `gzip;q=0, *` gets gzip), appends a second
 *   `accept-encoding` to a Vary that spells it `Accept-Encoding`, and passes bodies whose first bytes look
 *   compressed through unencoded under the negotiated Content-Encoding (fastify/fastify-compress#347).
 */
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { ResponseCompressor } from '../src/compression/compressor.js'

export interface CompressOptions {
  readonly compressor: ResponseCompressor
}

async function compression (scope: FastifyInstance, { compressor }: CompressOptions): Promise<void> {
  // Encoded copies live as long as the scope: a reload builds new ones and drops these at once.
  scope.addHook('onClose', async () => { compressor.copies.clear() })
}

export const serviceCompression = fp(compression, { name: 'gatehouse-compress', fastify: '5.x' })
