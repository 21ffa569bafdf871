/**
 * Compression for one service's scope (issue 4), on @fastify/compress.
 * SKELETON: registers nothing yet; the ResponseCompressor sends bodies unchanged.
 */
import type { FastifyInstance } from 'fastify'
import type { ResponseCompressor } from '../src/compression/compressor.js'

export interface CompressOptions {
  readonly compressor: ResponseCompressor
}

export async function serviceCompression (_scope: FastifyInstance, _options: CompressOptions): Promise<void> {}
