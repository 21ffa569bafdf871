/**
 * node:zlib encoders for the codings gateway.compression offers, with its levels: streams and the
 * thread pool for large or stored bodies, one synchronous call for a modest proxied body (proxy/whole-body.ts
 * says why).
 *
 * Streams are made here rather than through @fastify/compress's `reply.compress()`: that path sniffs the
 * first bytes of every body and passes anything that looks like gzip or zlib through unencoded while still
 * labelling it with the negotiated Content-Encoding, so a text body starting with `80,` or `x ` reaches the
 * client undecodable (fastify/fastify-compress#347; test/compression/proxied.test.ts pins it).
 */
import zlib from 'node:zlib'
import type { Transform } from 'node:stream'
import type { CompressionEncoding, CompressionSettings } from '../config/types.js'

type EncodeCallback = (error: Error | null, encoded: Buffer) => void

/** zstd exists from Node.js 22.15 / 23.8; config validation refuses it elsewhere. */
interface ZstdZlib {
  createZstdCompress?: () => Transform
  zstdCompress?: (body: Buffer, callback: EncodeCallback) => void
  zstdCompressSync?: (body: Buffer) => Buffer
}
const zstd = zlib as typeof zlib & ZstdZlib

export function isAvailable (encoding: CompressionEncoding): boolean {
  return encoding !== 'zstd' ||
    (typeof zstd.createZstdCompress === 'function' && typeof zstd.zstdCompress === 'function' && typeof zstd.zstdCompressSync === 'function')
}

export class ContentEncoders {
  readonly #zlibOptions: zlib.ZlibOptions
  readonly #brotliQuality: number

  constructor (settings: CompressionSettings) {
    this.#zlibOptions = { level: settings.gzipLevel }
    this.#brotliQuality = settings.brotliQuality
  }

  /** A streaming encoder; `sizeHint` is the identity length, which lets brotli size its window. */
  stream (encoding: CompressionEncoding, sizeHint: number): Transform {
    switch (encoding) {
      case 'br': return zlib.createBrotliCompress(this.#brotliOptions(sizeHint))
      case 'gzip': return zlib.createGzip(this.#zlibOptions)
      case 'deflate': return zlib.createDeflate(this.#zlibOptions)
      case 'zstd': return (zstd.createZstdCompress as () => Transform)()
    }
  }

  /** Encodes a complete body on the thread pool. */
  encode (encoding: CompressionEncoding, body: Buffer, callback: EncodeCallback): void {
    switch (encoding) {
      case 'br': zlib.brotliCompress(body, this.#brotliOptions(body.length), callback); return
      case 'gzip': zlib.gzip(body, this.#zlibOptions, callback); return
      case 'deflate': zlib.deflate(body, this.#zlibOptions, callback); return
      case 'zstd': (zstd.zstdCompress as NonNullable<ZstdZlib['zstdCompress']>)(body, callback)
    }
  }

  /** Encodes a complete body now, on the event loop: for modest bodies only (proxy/whole-body.ts). */
  encodeNow (encoding: CompressionEncoding, body: Buffer): Buffer {
    switch (encoding) {
      case 'br': return zlib.brotliCompressSync(body, this.#brotliOptions(body.length))
      case 'gzip': return zlib.gzipSync(body, this.#zlibOptions)
      case 'deflate': return zlib.deflateSync(body, this.#zlibOptions)
      case 'zstd': return (zstd.zstdCompressSync as NonNullable<ZstdZlib['zstdCompressSync']>)(body)
    }
  }

  #brotliOptions (sizeHint: number): zlib.BrotliOptions {
    return {
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: this.#brotliQuality,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: sizeHint
      }
    }
  }
}
