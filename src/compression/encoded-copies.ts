/**
 * Encoded copies of stored bodies (cache hits), so each body version is compressed once per coding rather
 * than once per hit. Process-local and bounded twice, by entries and by bytes, least recently used first
 * out (a Map keeps insertion order; a hit re-inserts its key). toad-cache's LRU has no byte bound and no
 * eviction hook to keep one with, hence this. Concurrent misses on one key share one encoding.
 */

export interface EncodedCopyLimits {
  readonly maxEntries: number
  readonly maxBytes: number
}

export const DEFAULT_ENCODED_COPY_LIMITS: EncodedCopyLimits = Object.freeze({ maxEntries: 4096, maxBytes: 16 * 1024 * 1024 })

export type EncodeDone = (error: Error | null, encoded: Buffer | null) => void
export type EncodeStart = (done: (error: Error | null, encoded: Buffer) => void) => void

interface Copy {
  readonly body: Buffer
  readonly bytes: number
}

export class EncodedCopies {
  readonly #limits: EncodedCopyLimits
  readonly #copies = new Map<string, Copy>()
  readonly #pending = new Map<string, EncodeDone[]>()
  #bytes = 0
  #encodings = 0

  constructor (limits: EncodedCopyLimits = DEFAULT_ENCODED_COPY_LIMITS) {
    this.#limits = limits
  }

  get entries (): number { return this.#copies.size }
  get bytes (): number { return this.#bytes }
  /** Encodings started since creation: one per key and miss, however many requests waited on it. */
  get encodings (): number { return this.#encodings }

  get (key: string): Buffer | undefined {
    const copy = this.#copies.get(key)
    if (copy === undefined) return undefined
    this.#copies.delete(key)
    this.#copies.set(key, copy)
    return copy.body
  }

  /** Calls `done` with the copy for `key`, starting `encode` unless an encoding of that key is under way. */
  fill (key: string, encode: EncodeStart, done: EncodeDone): void {
    const waiting = this.#pending.get(key)
    if (waiting !== undefined) {
      waiting.push(done)
      return
    }
    this.#pending.set(key, [done])
    this.#encodings++
    encode((error, encoded) => {
      const waiters = this.#pending.get(key) ?? []
      this.#pending.delete(key)
      const copy = error === null ? exactCopy(encoded) : null
      if (copy !== null) this.#keep(key, copy)
      for (const waiter of waiters) waiter(error, copy)
    })
  }

  clear (): void {
    this.#copies.clear()
    this.#bytes = 0
  }

  #keep (key: string, body: Buffer): void {
    // The key is held too: a long variant key on a tiny body still counts.
    const bytes = body.length + key.length
    if (bytes > this.#limits.maxBytes || this.#limits.maxEntries < 1) return
    const previous = this.#copies.get(key)
    if (previous !== undefined) this.#remove(key, previous)
    this.#copies.set(key, { body, bytes })
    this.#bytes += bytes
    for (const [oldest, copy] of this.#copies) {
      if (this.#bytes <= this.#limits.maxBytes && this.#copies.size <= this.#limits.maxEntries) break
      this.#remove(oldest, copy)
    }
  }

  #remove (key: string, copy: Copy): void {
    this.#copies.delete(key)
    this.#bytes -= copy.bytes
  }
}

/**
 * zlib hands back a view on its 16 KiB output buffer (or a pooled slab): keeping the view would pin the
 * whole allocation behind a byte count that says far less. An exact, unpooled copy keeps the bound true.
 */
function exactCopy (encoded: Buffer): Buffer {
  if (encoded.byteOffset === 0 && encoded.buffer.byteLength === encoded.length) return encoded
  const copy = Buffer.allocUnsafeSlow(encoded.length)
  encoded.copy(copy)
  return copy
}
