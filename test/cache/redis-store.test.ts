/**
 * The Redis response store against a real Redis: the store contract, then what only Redis has — the keys
 * and values it writes, tag sets that outlive their entries, other key prefixes left alone, values it did
 * not write whole, and Redis errors, which reach the callback and are never thrown.
 */
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { escapeGlob, RedisResponseStore } from '../../src/cache/redis-store.js'
import { encodeEntry, FORMAT_VERSION } from '../../src/cache/serialize.js'
import type { StoreKey } from '../../src/cache/store.js'
import { deleteKeys, redisAnswers, REDIS_URL, skipWithout, uniqueKeyPrefix } from '../helpers/redis.js'
import { binaryBody, describeResponseStore, expectSameResource, holds, read, remove, resourceOf, variantFor, write } from './store-contract.js'

const redisMissing = skipWithout(`Redis at ${REDIS_URL}`, await redisAnswers(REDIS_URL))

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

describe('escapeGlob', () => {
  it.each([
    ['plain/path', 'plain/path'],
    ['a*b', 'a\\*b'],
    ['what?', 'what\\?'],
    ['[abc]', '\\[abc\\]'],
    ['back\\slash', 'back\\\\slash'],
    ['^-!{}', '^-!{}']
  ])('escapes %j as %j', (text, pattern) => {
    expect(escapeGlob(text)).toBe(pattern)
  })
})

describe.skipIf(redisMissing)('RedisResponseStore', () => {
  const keyPrefix = uniqueKeyPrefix()
  let client: Redis
  let stores = 0
  /** A store under a key prefix of its own, below this file's. */
  const open = (): RedisResponseStore => new RedisResponseStore(client, `${keyPrefix}${stores++}:`)

  beforeAll(async () => {
    client = new Redis(REDIS_URL, { maxRetriesPerRequest: 0 })
    await client.ping()
  })
  afterAll(async () => {
    await deleteKeys(REDIS_URL, keyPrefix)
    await client.quit()
  })

  it(`has Redis at ${REDIS_URL}`, async () => {
    expect(await redisAnswers(REDIS_URL), `Redis must answer at ${REDIS_URL}`).toBe(true)
  })

  // Redis expires by its own clock: expiry takes real time here.
  describeResponseStore('RedisResponseStore', { open, elapse: sleep })

  describe('what it writes to Redis', () => {
    it('keeps a resource under <keyPrefix>cache:<id> as one binary value, raw bodies after a small header, expiring with its TTL', async () => {
      const prefix = `${keyPrefix}layout:`
      const store = new RedisResponseStore(client, prefix)
      const body = binaryBody(64 * 1024)
      await write(store, { id: 'items/1', segment: 'responses' }, resourceOf(variantFor({ body })), 30_000)
      const value = await client.getBuffer(`${prefix}cache:responses:items/1`) as Buffer
      expect(value.readUInt8(0)).toBe(FORMAT_VERSION)
      expect(value.subarray(value.length - body.length).equals(body)).toBe(true)
      // No base64, no JSON around the body: what is not body is the header alone.
      expect(value.length - body.length).toBeLessThan(1_024)
      const ttl = await client.pttl(`${prefix}cache:responses:items/1`)
      expect(ttl).toBeGreaterThan(25_000)
      expect(ttl).toBeLessThanOrEqual(30_000)
    })

    it('adds the resource key to <keyPrefix>cache-tag:<tag> for each tag, once, expiring no sooner than the entry', async () => {
      const prefix = `${keyPrefix}tag-layout:`
      const store = new RedisResponseStore(client, prefix)
      await write(store, 'items/1', resourceOf(variantFor({ tags: ['items', 'item:1'] }), variantFor({ tags: ['items'] })), 30_000)
      for (const tag of ['items', 'item:1']) {
        expect(await client.smembers(`${prefix}cache-tag:${tag}`)).toEqual([`${prefix}cache:items/1`])
        expect(await client.pttl(`${prefix}cache-tag:${tag}`)).toBeGreaterThanOrEqual(await client.pttl(`${prefix}cache:items/1`))
      }
    })

    it('lengthens a tag set\'s life for a longer-lived entry and never shortens it for a shorter-lived one', async () => {
      const prefix = `${keyPrefix}tag-ttl:`
      const store = new RedisResponseStore(client, prefix)
      const tagKey = `${prefix}cache-tag:t`
      await write(store, 'a', resourceOf(variantFor({ tags: ['t'] })), 60_000)
      await write(store, 'b', resourceOf(variantFor({ tags: ['t'] })), 5_000)
      expect(await client.pttl(tagKey)).toBeGreaterThan(55_000)
      await write(store, 'c', resourceOf(variantFor({ tags: ['t'] })), 120_000)
      expect(await client.pttl(tagKey)).toBeGreaterThan(115_000)
    })

    it('reports its usage as unknown', () => {
      expect(open().usage()).toEqual({ bytes: null, resources: null })
    })

    it('removes a resource rewritten without a tag when that tag is purged (a miss, never a stale hit)', async () => {
      const store = open()
      await write(store, 'items/1', resourceOf(variantFor({ tags: ['old'] })))
      await write(store, 'items/1', resourceOf(variantFor({ tags: ['new'] })))
      expect(await store.purgeTag('old')).toBe(1)
      expect(await holds(store, 'items/1')).toBe(false)
    })

    it('purges more keys than one SCAN or DEL call takes', async () => {
      const store = open()
      const resource = resourceOf(variantFor({ body: Buffer.from('x'), tags: ['many'] }))
      await Promise.all(Array.from({ length: 1_200 }, async (_, index) => write(store, `bulk/${index}`, resource)))
      expect(await store.purgePrefix('bulk/')).toBe(1_200)
      await Promise.all(Array.from({ length: 1_200 }, async (_, index) => write(store, `bulk/${index}`, resource)))
      expect(await store.purgeTag('many')).toBe(1_200)
      expect(await client.exists(`${keyPrefix}${stores - 1}:cache-tag:many`)).toBe(0)
    })
  })

  describe('other key prefixes', () => {
    it('are untouched by purges, even when one prefix starts with another or holds glob characters', async () => {
      const prefixes = [`${keyPrefix}p:`, `${keyPrefix}p:nested:`, `${keyPrefix}p[x]*:`, `${keyPrefix}px:`]
      const every = prefixes.map((prefix) => new RedisResponseStore(client, prefix))
      const [outer, nested, globbed, plain] = every as [RedisResponseStore, RedisResponseStore, RedisResponseStore, RedisResponseStore]
      for (const store of every) for (const id of ['items/1', 'items/2']) await write(store, id, resourceOf(variantFor({ tags: ['items'] })))

      expect(await outer.purgePrefix('items/')).toBe(2)
      expect(await globbed.purgeTag('items')).toBe(2)
      for (const store of [nested, plain]) {
        expect(await holds(store, 'items/1')).toBe(true)
        expect(await holds(store, 'items/2')).toBe(true)
      }
      expect(await nested.purgePrefix('')).toBe(2)
      expect(await plain.purgeTag('items')).toBe(2)
    })
  })

  describe('a value it did not write whole', () => {
    const good = encodeEntry({ resource: resourceOf(variantFor({ body: Buffer.from('body bytes') })), stored: Date.now(), ttl: 60_000 })
    const withHeader = (header: unknown, bodies = Buffer.alloc(0)): Buffer => {
      const json = Buffer.from(JSON.stringify(header))
      const preamble = Buffer.alloc(5)
      preamble.writeUInt8(FORMAT_VERSION, 0)
      preamble.writeUInt32BE(json.length, 1)
      return Buffer.concat([preamble, json, bodies])
    }
    const policy = variantFor().policy.toObject()

    it.each([
      ['empty', Buffer.alloc(0)],
      ['text from another program', Buffer.from('{"item":"x","stored":1,"ttl":2}')],
      ['random bytes', binaryBody(100)],
      ['another format version', Buffer.concat([Buffer.from([FORMAT_VERSION + 1]), good.subarray(1)])],
      ['cut short inside the bodies', good.subarray(0, good.length - 3)],
      ['cut short inside the header', good.subarray(0, 20)],
      ['longer than its bodies', Buffer.concat([good, Buffer.from([0])])],
      ['a header that is not JSON', Buffer.concat([good.subarray(0, 5), Buffer.alloc(good.readUInt32BE(1), 0x7b), good.subarray(5 + good.readUInt32BE(1))])],
      ['a header without variants', withHeader({ stored: 1, ttl: 60_000 })],
      ['a body length that is negative', withHeader({ stored: 1, ttl: 60_000, variants: [{ policy, tags: [], bytes: -1 }] })],
      ['tags that are not strings', withHeader({ stored: 1, ttl: 60_000, variants: [{ policy, tags: [1], bytes: 0 }] })],
      ['a policy of another serialization version', withHeader({ stored: 1, ttl: 60_000, variants: [{ policy: { ...policy, v: 2 }, tags: [], bytes: 0 }] })],
      ['a policy without response headers', withHeader({ stored: 1, ttl: 60_000, variants: [{ policy: { ...policy, resh: null }, tags: [], bytes: 0 }] })]
    ])('is a miss and is deleted when it is %s', async (_, value) => {
      const prefix = `${keyPrefix}damaged:${stores++}:`
      const store = new RedisResponseStore(client, prefix)
      await client.set(`${prefix}cache:items/1`, value, 'PX', 60_000)
      expect(await read(store, 'items/1')).toBeNull()
      // Same connection, so the deletion sent before the answer has run by now.
      expect(await client.exists(`${prefix}cache:items/1`)).toBe(0)
    })

    it('is read when whole (the table above fails for its own reasons)', async () => {
      const prefix = `${keyPrefix}whole:`
      await client.set(`${prefix}cache:items/1`, good, 'PX', 60_000)
      expect((await read(new RedisResponseStore(client, prefix), 'items/1'))?.item.variants[0]?.body.toString()).toBe('body bytes')
    })
  })

  describe('Redis errors', () => {
    it('reach the callback or the promise of every call on a client without a connection, and nothing throws', async () => {
      const closed = new Redis(REDIS_URL, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 })
      closed.disconnect()
      const store = new RedisResponseStore(closed, `${keyPrefix}closed:`)
      const resource = resourceOf(variantFor({ tags: ['t'] }))
      const calls: Array<[string, (key: StoreKey, callback: (error: Error | null) => void) => void]> = [
        ['get', (key, callback) => { store.get(key, callback) }],
        ['set', (key, callback) => { store.set(key, resource, 60_000, callback) }],
        ['set untagged', (key, callback) => { store.set(key, resourceOf(variantFor()), 60_000, callback) }],
        ['delete', (key, callback) => { store.delete(key, callback) }],
        ['has', (key, callback) => { store.has(key, callback) }]
      ]
      for (const [name, call] of calls) {
        const error = await new Promise<Error | null>((resolve) => { expect(() => { call('items/1', resolve) }, name).not.toThrow() })
        expect(error, name).toBeInstanceOf(Error)
      }
      await expect(store.purgePrefix('items/')).rejects.toThrow(Error)
      await expect(store.purgeTag('t')).rejects.toThrow(Error)
    })

    it('reach the callback when a tag key holds another type, and the entry is not left behind untagged', async () => {
      const store = open()
      const prefix = `${keyPrefix}${stores - 1}:`
      await client.set(`${prefix}cache-tag:broken`, 'not a set')
      await expect(write(store, 'items/1', resourceOf(variantFor({ tags: ['fine', 'broken'] })))).rejects.toThrow(/WRONGTYPE/)
      expect(await client.exists(`${prefix}cache:items/1`)).toBe(0)
    })
  })

  describe('a server without PEXPIRE options (before Redis 7)', () => {
    it('falls back to a plain PEXPIRE for tag sets once the server refuses the options, and keeps tagging', async () => {
      const legacy = new Redis(REDIS_URL, { maxRetriesPerRequest: 0 })
      const optionsSent: unknown[] = []
      const multi = legacy.multi.bind(legacy)
      // Queues PEXPIRE with too few arguments whenever an option is given, as Redis 6 does with one too many.
      vi.spyOn(legacy, 'multi').mockImplementation(((...args: Parameters<typeof legacy.multi>) => {
        const transaction = multi(...args)
        const pexpire = transaction.pexpire.bind(transaction) as (key: string, ms: number) => unknown
        transaction.pexpire = ((key: string, ms: number, option?: string) => {
          if (option === undefined) return pexpire(key, ms)
          optionsSent.push(option)
          return transaction.call('pexpire', key)
        }) as typeof transaction.pexpire
        return transaction
      }) as typeof legacy.multi)
      try {
        const prefix = `${keyPrefix}legacy:`
        const store = new RedisResponseStore(legacy, prefix)
        const resource = resourceOf(variantFor({ tags: ['t'] }))
        await write(store, 'items/1', resource, 30_000)
        await write(store, 'items/2', resource, 30_000)
        expectSameResource((await read(store, 'items/1'))?.item, resource)
        expect((await client.smembers(`${prefix}cache-tag:t`)).sort()).toEqual([`${prefix}cache:items/1`, `${prefix}cache:items/2`])
        expect(await client.pttl(`${prefix}cache-tag:t`)).toBeGreaterThan(25_000)
        // Learnt once: the second write sent no option.
        expect(optionsSent).toEqual(['NX', 'GT'])
        expect(await store.purgeTag('t')).toBe(2)
      } finally {
        await legacy.quit()
      }
    })
  })

  it('deletes a key it was asked to delete, under its own prefix only', async () => {
    const mine = open()
    const theirs = open()
    await write(mine, 'items/1', resourceOf(variantFor()))
    await write(theirs, 'items/1', resourceOf(variantFor()))
    await remove(mine, 'items/1')
    expect(await holds(mine, 'items/1')).toBe(false)
    expect(await holds(theirs, 'items/1')).toBe(true)
  })
})
