/**
 * What every response store promises (src/cache/store.ts), as one suite each store runs against itself:
 * round trips of whole resources with their policies, expiry, delete/has, and the purges by key prefix and
 * by tag. Store-specific behaviour (Redis layout and errors, the memory bound) lives in each store's file.
 */
import { randomBytes } from 'node:crypto'
import CachePolicy from 'http-cache-semantics'
import { describe, expect, it } from 'vitest'
import type { ResponseStore, StoredResource, StoredVariant, StoreHit, StoreKey } from '../../src/cache/store.js'

export interface StoreHarness {
  /** A store that sees nothing written by any other test. */
  readonly open: () => ResponseStore
  /** Lets `ms` milliseconds pass on the clock the store expires entries by. */
  readonly elapse: (ms: number) => Promise<void>
}

// ---- resources to store ---------------------------------------------------------------------------------

export interface VariantSpec {
  readonly path?: string
  readonly requestHeaders?: Record<string, string>
  readonly responseHeaders?: Record<string, string>
  readonly body?: Buffer
  readonly tags?: readonly string[]
}

/** A response a shared cache may store, varying on Accept-Language, with a policy made now. */
export function variantFor ({ path = '/items/1', requestHeaders = {}, responseHeaders = {}, body = Buffer.from('{"id":1}'), tags = [] }: VariantSpec = {}): StoredVariant {
  const policy = new CachePolicy(
    { url: path, method: 'GET', headers: { host: 'api.example', 'accept-language': 'en', ...requestHeaders } },
    { status: 200, headers: { 'cache-control': 'public, max-age=600', etag: '"v1"', vary: 'accept-language', ...responseHeaders } },
    { shared: true }
  )
  return { policy, body, tags }
}

export function resourceOf (...variants: StoredVariant[]): StoredResource {
  return { variants }
}

/** Bytes that are not text: NUL, lone continuation bytes, an overlong form, a surrogate, then random ones. */
export function binaryBody (randomLength = 4096): Buffer {
  return Buffer.concat([Buffer.from([0x00, 0xff, 0xfe, 0x80, 0xc3, 0x28, 0xc0, 0xaf, 0xed, 0xa0, 0x80, 0x00]), randomBytes(randomLength)])
}

// ---- the callback protocol as promises --------------------------------------------------------------------

export async function read (store: ResponseStore, key: StoreKey): Promise<StoreHit<StoredResource> | null> {
  return new Promise((resolve, reject) => { store.get(key, (error, hit) => { error === null ? resolve(hit) : reject(error) }) })
}

export async function write (store: ResponseStore, key: StoreKey, resource: StoredResource, ttlMs = 60_000): Promise<void> {
  return new Promise((resolve, reject) => { store.set(key, resource, ttlMs, (error) => { error === null ? resolve() : reject(error) }) })
}

export async function remove (store: ResponseStore, key: StoreKey): Promise<void> {
  return new Promise((resolve, reject) => { store.delete(key, (error) => { error === null ? resolve() : reject(error) }) })
}

export async function holds (store: ResponseStore, key: StoreKey): Promise<boolean> {
  return new Promise((resolve, reject) => { store.has(key, (error, found) => { error === null ? resolve(found) : reject(error) }) })
}

async function ids (store: ResponseStore, candidates: readonly string[]): Promise<string[]> {
  const found: string[] = []
  for (const id of candidates) if (await holds(store, id)) found.push(id)
  return found
}

// ---- what a stored resource must look like when read back ---------------------------------------------

/** Same bodies byte for byte, same tags, and policies that answer every question alike. */
export function expectSameResource (actual: StoredResource | undefined, expected: StoredResource): void {
  expect(actual?.variants).toHaveLength(expected.variants.length)
  expected.variants.forEach((wanted, index) => {
    const got = actual?.variants[index] as StoredVariant
    expect(got.body.length, `variant ${index}: body length`).toBe(wanted.body.length)
    expect(got.body.equals(wanted.body), `variant ${index}: body bytes`).toBe(true)
    expect(got.tags).toEqual(wanted.tags)
    expect(got.policy.toObject()).toEqual(wanted.policy.toObject())
  })
}

/** A restored policy decides as the original: freshness, Vary, TTL and the headers it would send. */
export function expectSamePolicyAnswers (actual: CachePolicy, expected: CachePolicy): void {
  const same = { url: '/items/1', method: 'GET', headers: { host: 'api.example', 'accept-language': 'en' } }
  const otherLanguage = { ...same, headers: { ...same.headers, 'accept-language': 'fr' } }
  expect(actual.satisfiesWithoutRevalidation(same)).toBe(true)
  expect(actual.satisfiesWithoutRevalidation(otherLanguage)).toBe(expected.satisfiesWithoutRevalidation(otherLanguage))
  expect(actual.storable()).toBe(expected.storable())
  expect(Math.abs(actual.timeToLive() - expected.timeToLive())).toBeLessThan(1_000)
  expect(actual.responseHeaders().etag).toBe(expected.responseHeaders().etag)
  expect(actual.responseHeaders().vary).toBe('accept-language')
}

// ---- the suite ----------------------------------------------------------------------------------------

export function describeResponseStore (name: string, { open, elapse }: StoreHarness): void {
  describe(`${name}: reading back what was written`, () => {
    it('misses a key that was never written', async () => {
      expect(await read(open(), 'never-written')).toBeNull()
    })

    it('returns one variant as written: body, tags, and a policy that answers like the original', async () => {
      const store = open()
      const resource = resourceOf(variantFor({ tags: ['items', 'item:1'] }))
      await write(store, 'items/1', resource)
      const hit = await read(store, 'items/1')
      expectSameResource(hit?.item, resource)
      expectSamePolicyAnswers(hit?.item.variants[0]?.policy as CachePolicy, resource.variants[0]?.policy as CachePolicy)
    })

    it('returns every variant of a resource, in order', async () => {
      const store = open()
      const resource = resourceOf(
        variantFor({ body: Buffer.from('english'), tags: ['items'] }),
        variantFor({ requestHeaders: { 'accept-language': 'fr' }, responseHeaders: { etag: '"fr"' }, body: Buffer.from('français') }),
        variantFor({ requestHeaders: { 'accept-language': 'de' }, responseHeaders: { etag: '"de"' }, body: Buffer.alloc(0), tags: ['de', 'items'] })
      )
      await write(store, 'items/1', resource)
      expectSameResource((await read(store, 'items/1'))?.item, resource)
    })

    it('keeps binary bodies byte for byte: NUL bytes, invalid UTF-8, empty and large bodies', async () => {
      const store = open()
      const resource = resourceOf(variantFor({ body: binaryBody() }), variantFor({ body: Buffer.alloc(0) }), variantFor({ body: binaryBody(256 * 1024) }))
      await write(store, 'binary', resource)
      expectSameResource((await read(store, 'binary'))?.item, resource)
    })

    it('tells when the entry was stored and how long it has left', async () => {
      const store = open()
      const before = Date.now()
      await write(store, 'timed', resourceOf(variantFor()), 60_000)
      const after = Date.now()
      await elapse(200)
      const hit = await read(store, 'timed') as StoreHit<StoredResource>
      expect(hit.stored).toBeGreaterThanOrEqual(before)
      expect(hit.stored).toBeLessThanOrEqual(after)
      expect(hit.ttl).toBeLessThanOrEqual(59_800)
      expect(hit.ttl).toBeGreaterThan(50_000)
    })

    it('replaces the whole resource when its key is written again', async () => {
      const store = open()
      await write(store, 'items/1', resourceOf(variantFor({ body: Buffer.from('old') }), variantFor({ body: Buffer.from('old fr') })))
      const replacement = resourceOf(variantFor({ body: Buffer.from('new'), tags: ['new'] }))
      await write(store, 'items/1', replacement)
      expectSameResource((await read(store, 'items/1'))?.item, replacement)
    })

    it('treats the key { id, segment } as the string "segment:id"', async () => {
      const store = open()
      const resource = resourceOf(variantFor())
      await write(store, { id: 'items/1', segment: 'responses' }, resource)
      expectSameResource((await read(store, 'responses:items/1'))?.item, resource)
      expect(await holds(store, { id: 'items/1', segment: 'other' })).toBe(false)
      await remove(store, 'responses:items/1')
      expect(await read(store, { id: 'items/1', segment: 'responses' })).toBeNull()
    })

    it('stores nothing for a TTL of zero, and drops what the key held', async () => {
      const store = open()
      await write(store, 'zero', resourceOf(variantFor()), 0)
      expect(await read(store, 'zero')).toBeNull()
      await write(store, 'replaced', resourceOf(variantFor()))
      await write(store, 'replaced', resourceOf(variantFor()), 0)
      expect(await read(store, 'replaced')).toBeNull()
    })
  })

  describe(`${name}: expiry`, () => {
    it('forgets a resource once its TTL has passed, and keeps a longer-lived one', async () => {
      const store = open()
      await write(store, 'short', resourceOf(variantFor()), 50)
      await write(store, 'long', resourceOf(variantFor()), 60_000)
      expect(await holds(store, 'short')).toBe(true)
      await elapse(120)
      expect(await read(store, 'short')).toBeNull()
      expect(await holds(store, 'short')).toBe(false)
      expect(await holds(store, 'long')).toBe(true)
    })
  })

  describe(`${name}: delete and has`, () => {
    it('has tells whether a key holds a resource', async () => {
      const store = open()
      await write(store, 'present', resourceOf(variantFor()))
      expect(await holds(store, 'present')).toBe(true)
      expect(await holds(store, 'absent')).toBe(false)
    })

    it('delete removes one resource and leaves the others', async () => {
      const store = open()
      await write(store, 'items/1', resourceOf(variantFor()))
      await write(store, 'items/2', resourceOf(variantFor()))
      await remove(store, 'items/1')
      expect(await ids(store, ['items/1', 'items/2'])).toEqual(['items/2'])
    })

    it('delete of a key that holds nothing succeeds', async () => {
      await expect(remove(open(), 'nothing')).resolves.toBeUndefined()
    })
  })

  describe(`${name}: purge by key prefix`, () => {
    it('removes every resource whose key id starts with the prefix, and says how many', async () => {
      const store = open()
      const all = ['users/1', 'users/2', 'users/2/orders', 'usersettings', 'orders/1', 'x-users/1']
      for (const id of all) await write(store, id, resourceOf(variantFor()))
      expect(await store.purgePrefix('users/')).toBe(3)
      expect(await ids(store, all)).toEqual(['usersettings', 'orders/1', 'x-users/1'])
      expect(await store.purgePrefix('users/')).toBe(0)
    })

    it('reads *, ?, [, ] and \\ in the prefix as themselves, not as patterns', async () => {
      const store = open()
      const all = ['a*b/1', 'a*b/2', 'axxb/1', 'a[bc]/1', 'ab/1', 'ac/1', 'q?1', 'qx1', 'w\\1', 'w1', 'w*1']
      for (const id of all) await write(store, id, resourceOf(variantFor()))
      expect(await store.purgePrefix('a*b/')).toBe(2)
      expect(await store.purgePrefix('a[bc]/')).toBe(1)
      expect(await store.purgePrefix('q?')).toBe(1)
      expect(await store.purgePrefix('w\\')).toBe(1)
      expect(await ids(store, all)).toEqual(['axxb/1', 'ab/1', 'ac/1', 'qx1', 'w1', 'w*1'])
    })

    it('purges everything under the empty prefix', async () => {
      const store = open()
      for (const id of ['a', 'b', 'c']) await write(store, id, resourceOf(variantFor({ tags: ['t'] })))
      expect(await store.purgePrefix('')).toBe(3)
      expect(await ids(store, ['a', 'b', 'c'])).toEqual([])
    })
  })

  describe(`${name}: purge by tag`, () => {
    it('removes every resource any variant of which carries the tag, keeps the rest, and says how many', async () => {
      const store = open()
      await write(store, 'first', resourceOf(variantFor({ tags: ['shared', 'first-only'] })))
      await write(store, 'second', resourceOf(variantFor({ tags: ['second-only'] }), variantFor({ tags: ['shared'] })))
      await write(store, 'third', resourceOf(variantFor({ tags: ['third-only'] })))
      await write(store, 'untagged', resourceOf(variantFor()))
      expect(await store.purgeTag('shared')).toBe(2)
      expect(await ids(store, ['first', 'second', 'third', 'untagged'])).toEqual(['third', 'untagged'])
      // Gone already: their other tags find nothing more.
      expect(await store.purgeTag('first-only')).toBe(0)
      expect(await store.purgeTag('second-only')).toBe(0)
      expect(await store.purgeTag('third-only')).toBe(1)
      expect(await ids(store, ['third', 'untagged'])).toEqual(['untagged'])
    })

    it('finds nothing for a tag no resource carries, and nothing twice', async () => {
      const store = open()
      await write(store, 'tagged', resourceOf(variantFor({ tags: ['t'] })))
      expect(await store.purgeTag('unknown')).toBe(0)
      expect(await store.purgeTag('t')).toBe(1)
      expect(await store.purgeTag('t')).toBe(0)
    })

    it('finds a resource written again with the same tag after a purge', async () => {
      const store = open()
      await write(store, 'again', resourceOf(variantFor({ tags: ['t'] })))
      expect(await store.purgeTag('t')).toBe(1)
      await write(store, 'again', resourceOf(variantFor({ tags: ['t'] })))
      expect(await store.purgeTag('t')).toBe(1)
    })
  })
}
