/**
 * The response store behind the cache: the abstract-cache protocol that @fastify/caching takes as its
 * `cache` option (get/set/delete/has with callbacks, `{ item, stored, ttl }` results, string or
 * `{ id, segment }` keys), plus purges by key prefix and by tag, which a gateway needs and abstract-cache
 * has no words for. A store only ever holds complete responses: the cache writes an entry after the last
 * body byte arrived.
 */
import type CachePolicy from 'http-cache-semantics'

/**
 * One stored response: its http-cache-semantics policy, complete body and purge tags. A store that leaves
 * the process serializes the policy with toObject() and restores it with CachePolicy.fromObject().
 */
export interface StoredVariant {
  readonly policy: CachePolicy
  readonly body: Buffer
  /** From the upstream's Cache-Tag / Surrogate-Key headers. */
  readonly tags: readonly string[]
}

/** Every stored variant (RFC 9111 §4.1, Vary) of one resource. */
export interface StoredResource {
  readonly variants: readonly StoredVariant[]
}

export type StoreKey = string | { readonly id: string, readonly segment: string }

export interface StoreHit<T> {
  readonly item: T
  readonly stored: number
  readonly ttl: number
}

export type StoreCallback<T> = (error: Error | null, result: T) => void

/** abstract-cache's client protocol (callback form: `await` is false), typed for response entries. */
export interface ResponseStore {
  readonly await: false
  get: (key: StoreKey, callback: StoreCallback<StoreHit<StoredResource> | null>) => void
  set: (key: StoreKey, value: StoredResource, ttlMs: number, callback: StoreCallback<void>) => void
  delete: (key: StoreKey, callback: StoreCallback<void>) => void
  has: (key: StoreKey, callback: StoreCallback<boolean>) => void
  /** Removes every resource whose key id starts with `prefix`; resolves to how many. */
  purgePrefix: (prefix: string) => Promise<number>
  /** Removes every resource one of whose variants carries `tag`; resolves to how many. */
  purgeTag: (tag: string) => Promise<number>
  /** Bytes held and resources stored, for the admin endpoint (null where the store cannot tell cheaply). */
  usage: () => { readonly bytes: number | null, readonly resources: number | null }
  start?: (callback: StoreCallback<void>) => void
  stop?: (callback: StoreCallback<void>) => void
}

/** The segment every response entry is stored under, so other users of one store never collide with it. */
export const RESPONSE_SEGMENT = 'gatehouse-response'

export function keyId (key: StoreKey): string {
  return typeof key === 'string' ? key : `${key.segment}:${key.id}`
}

/** Bytes a resource takes in a store: bodies plus a rough share for headers and bookkeeping. */
export function resourceBytes (resource: StoredResource): number {
  let bytes = 0
  for (const variant of resource.variants) bytes += variant.body.length + 512 + headerBytes(variant.policy.toObject().resh)
  return bytes
}

function headerBytes (headers: Record<string, string | string[] | undefined>): number {
  let bytes = 0
  for (const name in headers) {
    const value = headers[name]
    bytes += name.length + (typeof value === 'string' ? value.length : Array.isArray(value) ? value.join('').length : 0)
  }
  return bytes
}
