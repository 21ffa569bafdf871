/**
 * The memory response store: the store contract, with Date faked so that expiry takes no wall time (no
 * sockets here), and its own promise: a bound in bytes, kept by evicting the least recently used.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { MemoryResponseStore } from '../../src/cache/memory-store.js'
import { resourceBytes, type StoredResource } from '../../src/cache/store.js'
import { describeResponseStore, holds, read, resourceOf, variantFor, write } from './store-contract.js'

beforeEach(() => { vi.useFakeTimers({ toFake: ['Date'] }) })
afterEach(() => { vi.useRealTimers() })

async function elapse (ms: number): Promise<void> {
  vi.setSystemTime(Date.now() + ms)
}

describeResponseStore('MemoryResponseStore', { open: () => new MemoryResponseStore(16 * 1024 * 1024), elapse })

type Four = [StoredResource, StoredResource, StoredResource, StoredResource]

/** Four resources of one size, and that size. */
function sameSizedResources (): { resources: Four, bytes: number } {
  const resources = ['a', 'b', 'c', 'd'].map((name) => resourceOf(variantFor({ body: Buffer.alloc(1_000, name) }))) as Four
  return { resources, bytes: resourceBytes(resources[0]) }
}

describe('MemoryResponseStore: the byte bound', () => {
  it('evicts the least recently written resource once the bound is passed', async () => {
    const { resources: [a, b, c, d], bytes } = sameSizedResources()
    const store = new MemoryResponseStore(3 * bytes)
    for (const [id, resource] of [['a', a], ['b', b], ['c', c], ['d', d]] as const) await write(store, id, resource)
    expect(await holds(store, 'a')).toBe(false)
    expect(store.usage()).toEqual({ bytes: 3 * bytes, resources: 3 })
  })

  it('counts a read as a use: the resource read last is evicted last', async () => {
    const { resources: [a, b, c, d], bytes } = sameSizedResources()
    const store = new MemoryResponseStore(3 * bytes)
    await write(store, 'a', a)
    await write(store, 'b', b)
    await write(store, 'c', c)
    expect(await read(store, 'a')).not.toBeNull()
    await write(store, 'd', d)
    expect(await read(store, 'b')).toBeNull()
    for (const id of ['a', 'c', 'd']) expect(await read(store, id), id).not.toBeNull()
  })

  it('does not store a resource bigger than the whole bound, and drops what its key held', async () => {
    const { resources: [a], bytes } = sameSizedResources()
    const store = new MemoryResponseStore(2 * bytes)
    await write(store, 'kept', a)
    await write(store, 'big', a)
    await write(store, 'big', resourceOf(variantFor({ body: Buffer.alloc(3 * bytes) })))
    expect(await holds(store, 'big')).toBe(false)
    expect(await holds(store, 'kept')).toBe(true)
    expect(store.usage()).toEqual({ bytes, resources: 1 })
  })

  it('gives bytes back on overwrite, delete, expiry and purges', async () => {
    const { resources: [a, b, c], bytes } = sameSizedResources()
    const store = new MemoryResponseStore(10 * bytes)
    await write(store, 'a', a)
    await write(store, 'a', b)
    expect(store.usage()).toEqual({ bytes, resources: 1 })
    await write(store, 'short', c!, 50)
    await write(store, 'tagged', resourceOf(variantFor({ body: Buffer.alloc(1_000), tags: ['t'] })))
    await elapse(100)
    expect(await read(store, 'short')).toBeNull()
    expect(store.usage()).toEqual({ bytes: 2 * bytes, resources: 2 })
    expect(await store.purgeTag('t')).toBe(1)
    expect(await store.purgePrefix('a')).toBe(1)
    expect(store.usage()).toEqual({ bytes: 0, resources: 0 })
  })
})
