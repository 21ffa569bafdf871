/**
 * Copies a proxied body on its way to the client (design.md §3 step 10: tee the stream into a size-capped
 * buffer). The client gets every chunk as it comes; the copy is handed over only when the upstream body
 * ended completely. A body that outgrows the cap, errors or is cut short never reaches the store.
 */
import { Transform, type TransformCallback } from 'node:stream'

export type CapturedBody = (body: Buffer | null) => void

export class BodyCapture extends Transform {
  readonly #maxBytes: number
  readonly #onDone: CapturedBody
  #chunks: Buffer[] | null = []
  #bytes = 0
  #settled = false

  constructor (maxBytes: number, onDone: CapturedBody) {
    super()
    this.#maxBytes = maxBytes
    this.#onDone = onDone
    // Closed before the end (client gone, upstream reset): nothing is stored.
    this.once('close', () => { this.#settle(null) })
  }

  override _transform (chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.#chunks !== null) {
      this.#bytes += chunk.length
      if (this.#bytes > this.#maxBytes) this.#chunks = null
      else this.#chunks.push(chunk)
    }
    callback(null, chunk)
  }

  override _flush (callback: TransformCallback): void {
    this.#settle(this.#chunks === null ? null : Buffer.concat(this.#chunks, this.#bytes))
    callback()
  }

  #settle (body: Buffer | null): void {
    if (this.#settled) return
    this.#settled = true
    this.#chunks = null
    this.#onDone(body)
  }
}
