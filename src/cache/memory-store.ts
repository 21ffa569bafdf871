/**
 * The default response store: one process's memory, bounded in bytes with least-recently-used eviction
 * (a Map keeps insertion order; a hit re-inserts its key). Entries past their TTL are dropped when met.
 * Values are handed out as they are stored, never cloned: entries are immutable once written.
 */
import { keyId, resourceBytes, type ResponseStore, type StoreCallback, type StoreHit, type StoreKey, type StoredResource } from './store.js'

interface MemoryEntry {
  readonly resource: StoredResource
  readonly bytes: number
  readonly stored: number
  readonly expires: number
}

export class MemoryResponseStore implements ResponseStore {
  readonly await = false
  readonly #entries = new Map<string, MemoryEntry>()
  readonly #maxBytes: number
  #bytes = 0

  constructor (maxBytes: number) {
    this.#maxBytes = maxBytes
  }

  get (key: StoreKey, callback: StoreCallback<StoreHit<StoredResource> | null>): void {
    callback(null, this.read(keyId(key)))
  }

  /** The synchronous lookup behind get(), for callers in the same process. */
  read (id: string): StoreHit<StoredResource> | null {
    const entry = this.#touch(id, Date.now())
    return entry === null ? null : { item: entry.resource, stored: entry.stored, ttl: entry.expires - Date.now() }
  }

  /** read() without the abstract-cache envelope: the cache's lookup on every request. */
  resource (id: string, now: number): StoredResource | null {
    return this.#touch(id, now)?.resource ?? null
  }

  #touch (id: string, now: number): MemoryEntry | null {
    const entry = this.#entries.get(id)
    if (entry === undefined) return null
    if (entry.expires <= now) {
      this.#remove(id, entry)
      return null
    }
    // Most recently used goes last; eviction takes from the front.
    this.#entries.delete(id)
    this.#entries.set(id, entry)
    return entry
  }

  set (key: StoreKey, value: StoredResource, ttlMs: number, callback: StoreCallback<void>): void {
    this.write(keyId(key), value, ttlMs)
    callback(null)
  }

  write (id: string, resource: StoredResource, ttlMs: number): void {
    const previous = this.#entries.get(id)
    if (previous !== undefined) this.#remove(id, previous)
    const bytes = resourceBytes(resource)
    if (bytes > this.#maxBytes || ttlMs <= 0) return
    const now = Date.now()
    this.#entries.set(id, { resource, bytes, stored: now, expires: now + ttlMs })
    this.#bytes += bytes
    for (const [oldest, entry] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break
      this.#remove(oldest, entry)
    }
  }

  delete (key: StoreKey, callback: StoreCallback<void>): void {
    const id = keyId(key)
    const entry = this.#entries.get(id)
    if (entry !== undefined) this.#remove(id, entry)
    callback(null)
  }

  has (key: StoreKey, callback: StoreCallback<boolean>): void {
    callback(null, this.read(keyId(key)) !== null)
  }

  async purgePrefix (prefix: string): Promise<number> {
    let purged = 0
    for (const [id, entry] of this.#entries) {
      if (id.startsWith(prefix)) {
        this.#remove(id, entry)
        purged++
      }
    }
    return purged
  }

  async purgeTag (tag: string): Promise<number> {
    let purged = 0
    for (const [id, entry] of this.#entries) {
      if (entry.resource.variants.some((variant) => variant.tags.includes(tag))) {
        this.#remove(id, entry)
        purged++
      }
    }
    return purged
  }

  usage (): { bytes: number, resources: number } {
    return { bytes: this.#bytes, resources: this.#entries.size }
  }

  #remove (id: string, entry: MemoryEntry): void {
    this.#entries.delete(id)
    this.#bytes -= entry.bytes
  }
}
