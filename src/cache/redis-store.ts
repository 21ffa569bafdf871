/**
 * The response store in Redis, shared by every gateway process that uses the same Redis and key prefix.
 *
 * - One key per resource, `<keyPrefix>cache:<key id>`, holding every variant in one value (serialize.ts),
 *   written with SET ... PX so Redis alone decides when it is gone. A hit is one GET, no second round trip.
 * - Purge tags are sets, `<keyPrefix>cache-tag:<tag>`, of the resource keys written with the tag. A set
 *   lives at least as long as the longest-lived entry written into it, so a purge by tag never misses a
 *   live entry. Members are only ever added (by a write) or removed (by a purge of that tag): a set may name
 *   resources that are gone or were rewritten without the tag, which a purge counts as 0 or removes once
 *   more than needed — a miss, never a stale hit.
 * - Errors of every command go to the callback or the returned promise, never anywhere else: the response
 *   cache turns them into misses. The store does not own its client: no start/stop, no connection handling.
 */
import type { ChainableCommander, Redis } from 'ioredis'
import { decodeEntry, encodeEntry } from './serialize.js'
import { keyId, type ResponseStore, type StoreCallback, type StoredResource, type StoreHit, type StoreKey } from './store.js'

/** Keys asked of SCAN per call, and keys per DEL/UNLINK: each call stays short for the Redis event loop. */
const KEYS_PER_CALL = 500

/** `text` as a Redis glob pattern that matches exactly `text` (`*`, `?`, `[`, `]` and `\` escaped). */
export function escapeGlob (text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&')
}

export class RedisResponseStore implements ResponseStore {
  readonly await = false
  readonly #client: Redis
  readonly #keyPrefix: string
  /** Whether the server takes PEXPIRE's NX and GT options (Redis 7.0); unlearnt by the first refusal. */
  #expireOptions = true

  /** `client` is made and closed by its owner (src/redis/client.ts); `keyPrefix` namespaces every key. */
  constructor (client: Redis, keyPrefix: string) {
    this.#client = client
    this.#keyPrefix = keyPrefix
  }

  get (key: StoreKey, callback: StoreCallback<StoreHit<StoredResource> | null>): void {
    deliver(this.#read(this.#resourceKey(keyId(key))), callback, null)
  }

  set (key: StoreKey, value: StoredResource, ttlMs: number, callback: StoreCallback<void>): void {
    deliver(this.#write(this.#resourceKey(keyId(key)), value, ttlMs), callback, undefined)
  }

  delete (key: StoreKey, callback: StoreCallback<void>): void {
    deliver(this.#client.del(this.#resourceKey(keyId(key))).then(() => undefined), callback, undefined)
  }

  has (key: StoreKey, callback: StoreCallback<boolean>): void {
    deliver(this.#client.exists(this.#resourceKey(keyId(key))).then((count) => count > 0), callback, false)
  }

  /**
   * SCAN walks the whole keyspace in short steps without blocking Redis: slow on a big database, but a purge
   * by prefix is an operator's action, not a request's.
   */
  async purgePrefix (prefix: string): Promise<number> {
    const pattern = `${escapeGlob(this.#resourceKey(prefix))}*`
    let purged = 0
    let cursor = '0'
    do {
      const [next, keys] = await this.#client.scan(cursor, 'MATCH', pattern, 'COUNT', KEYS_PER_CALL)
      // SCAN may return a key twice; UNLINK counts it once, as it is gone the second time.
      if (keys.length > 0) purged += await this.#client.unlink(...keys)
      cursor = next
    } while (cursor !== '0')
    return purged
  }

  async purgeTag (tag: string): Promise<number> {
    const tagKey = this.#tagKey(tag)
    const members = await this.#client.smembers(tagKey)
    let purged = 0
    for (let start = 0; start < members.length; start += KEYS_PER_CALL) {
      const batch = members.slice(start, start + KEYS_PER_CALL)
      // SREM of exactly what was deleted, not DEL of the set: a resource tagged meanwhile stays findable, and a
      // purge that fails halfway leaves the rest of the set for the next attempt. The set goes when empty.
      const [deleted] = await execAll(this.#client.multi().del(...batch).srem(tagKey, ...batch))
      purged += deleted as number
    }
    return purged
  }

  /** Neither is cheap to know from Redis (a SCAN and a MEMORY USAGE per key). */
  usage (): { bytes: null, resources: null } {
    return { bytes: null, resources: null }
  }

  async #read (key: string): Promise<StoreHit<StoredResource> | null> {
    const value = await this.#client.getBuffer(key)
    if (value === null) return null
    const entry = decodeEntry(value)
    if (entry === null) {
      // Damaged, or another version's: a miss, and out of the way so that the next write replaces it.
      this.#client.del(key).catch(() => {})
      return null
    }
    // Redis is the judge of whether an entry still exists; the header only tells how long it has left. The
    // writer's clock may differ from ours: keep the answer within (0, ttl], as the memory store's are.
    const remaining = entry.stored + entry.ttl - Date.now()
    return { item: entry.resource, stored: entry.stored, ttl: Math.min(entry.ttl, Math.max(1, remaining)) }
  }

  async #write (key: string, resource: StoredResource, ttlMs: number): Promise<void> {
    // As in the memory store: nothing is kept for no time, and what was there before is gone.
    if (!(ttlMs > 0)) {
      await this.#client.del(key)
      return
    }
    const ttl = Math.ceil(ttlMs)
    const value = encodeEntry({ resource, stored: Date.now(), ttl })
    const tags = new Set(resource.variants.flatMap((variant) => variant.tags))
    if (tags.size === 0) {
      await this.#client.set(key, value, 'PX', ttl)
      return
    }
    await this.#writeTagged(key, value, ttl, tags)
  }

  async #writeTagged (key: string, value: Buffer, ttl: number, tags: ReadonlySet<string>): Promise<void> {
    try {
      await execAll(this.#tagged(key, value, ttl, tags))
    } catch (error) {
      if (this.#expireOptions && refusedExpireOptions(error)) {
        this.#expireOptions = false
        return this.#writeTagged(key, value, ttl, tags)
      }
      // Redis runs the rest of a MULTI past a failed command (a tag key of another type, say): the entry may
      // be stored while a tag is not, and a purge by that tag would miss it. Better no entry at all.
      await this.#client.del(key).catch(() => {})
      throw error
    }
  }

  /**
   * The entry and its tag memberships in one MULTI: a purge by tag never runs between them and misses an
   * entry that is already readable.
   */
  #tagged (key: string, value: Buffer, ttl: number, tags: ReadonlySet<string>): ChainableCommander {
    const transaction = this.#client.multi().set(key, value, 'PX', ttl)
    for (const tag of tags) {
      const tagKey = this.#tagKey(tag)
      transaction.sadd(tagKey, key)
      if (this.#expireOptions) {
        // GT alone never sets an expiry on a set that has none (to GT, none is forever), as a set just made
        // by SADD: NX gives it one, then GT only ever lengthens it.
        transaction.pexpire(tagKey, ttl, 'NX').pexpire(tagKey, ttl, 'GT')
      } else {
        // Before Redis 7 an expiry can only be replaced: an entry with a shorter TTL written after one with a
        // longer TTL shortens the set's life, and a purge by tag after it ends misses the longer-lived entry.
        transaction.pexpire(tagKey, ttl)
      }
    }
    return transaction
  }

  #resourceKey (id: string): string {
    return `${this.#keyPrefix}cache:${id}`
  }

  #tagKey (tag: string): string {
    return `${this.#keyPrefix}cache-tag:${tag}`
  }
}

/**
 * Hands a command's outcome to an abstract-cache callback on a tick of its own, outside the promise chain:
 * an exception thrown by the callback is the caller's own uncaught error, not an unhandled rejection here,
 * and it can never make the callback run a second time.
 */
function deliver<T> (work: Promise<T>, callback: StoreCallback<T>, failed: T): void {
  work.then(
    (result) => { process.nextTick(callback, null, result) },
    (error: unknown) => { process.nextTick(callback, asError(error), failed) }
  )
}

/** Runs a MULTI; the first command's error, if any, rejects it (ioredis resolves with per-command errors). */
async function execAll (transaction: ChainableCommander): Promise<unknown[]> {
  const replies = await transaction.exec()
  // null only after a WATCHed key changed; nothing here WATCHes, but the type says it may be.
  if (replies === null) throw new Error('Redis transaction was aborted')
  return replies.map(([error, reply]) => {
    if (error !== null) throw error
    return reply
  })
}

/**
 * A server before 7.0 refuses PEXPIRE with an option as the wrong number of arguments when it is queued, and
 * then discards the whole MULTI (EXECABORT).
 */
function refusedExpireOptions (error: unknown): boolean {
  const previous = (error as { previousErrors?: unknown } | null)?.previousErrors
  return error instanceof Error && error.message.startsWith('EXECABORT') && Array.isArray(previous) &&
    previous.some((cause: unknown) => cause instanceof Error && /'pexpire'/i.test(cause.message))
}

function asError (error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}
