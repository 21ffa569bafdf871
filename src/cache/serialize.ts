/**
 * The form a stored resource takes outside the process (the Redis store): one buffer, a small JSON header
 * followed by the raw bodies.
 *
 *   byte 0         FORMAT_VERSION
 *   bytes 1-4      n, the header's length, uint32 big-endian
 *   bytes 5..5+n   the header, UTF-8 JSON: { stored, ttl, variants: [{ policy, tags, bytes }] }
 *   the rest       every variant's body, in variant order, back to back
 *
 * Bodies are never base64 or JSON: either would grow every entry by a third or more and cost a pass over
 * every byte on each hit; here a hit parses a few hundred bytes of header and slices the bodies out of the
 * buffer it read, without copying them. The header carries the write time and TTL so that a hit can tell
 * its remaining TTL without asking Redis a second time (PTTL).
 */
import CachePolicy from 'http-cache-semantics'
import type { StoredResource, StoredVariant } from './store.js'

/**
 * Bumped on any change to the layout or the header. A gateway reading a value of another version (during a
 * rolling upgrade, say) treats it as a miss instead of guessing at it.
 */
export const FORMAT_VERSION = 1
const PREAMBLE_BYTES = 5

/** A resource as written: when, and for how long (milliseconds). */
export interface StoredEntry {
  readonly resource: StoredResource
  /** Milliseconds since the epoch at the write, by the writer's clock. */
  readonly stored: number
  readonly ttl: number
}

interface VariantHeader {
  readonly policy: CachePolicy.CachePolicyObject
  readonly tags: readonly string[]
  /** The body's length: where it ends in the buffer. */
  readonly bytes: number
}

interface EntryHeader {
  readonly stored: number
  readonly ttl: number
  readonly variants: readonly VariantHeader[]
}

export function encodeEntry ({ resource, stored, ttl }: StoredEntry): Buffer {
  const variants: VariantHeader[] = resource.variants.map((variant) => ({
    policy: variant.policy.toObject(),
    tags: variant.tags,
    bytes: variant.body.length
  }))
  const header = Buffer.from(JSON.stringify({ stored, ttl, variants } satisfies EntryHeader), 'utf8')
  const preamble = Buffer.allocUnsafe(PREAMBLE_BYTES)
  preamble.writeUInt8(FORMAT_VERSION, 0)
  preamble.writeUInt32BE(header.length, 1)
  return Buffer.concat([preamble, header, ...resource.variants.map((variant) => variant.body)])
}

/**
 * The entry in `value`, or null when it is not one this version wrote whole: another version, a truncated
 * or otherwise damaged value, or not ours at all. Never throws. Bodies are views into `value`.
 */
export function decodeEntry (value: Buffer): StoredEntry | null {
  if (value.length < PREAMBLE_BYTES || value.readUInt8(0) !== FORMAT_VERSION) return null
  const bodiesStart = PREAMBLE_BYTES + value.readUInt32BE(1)
  if (bodiesStart > value.length) return null
  const header = parseHeader(value.toString('utf8', PREAMBLE_BYTES, bodiesStart))
  if (header === null) return null
  let bodyBytes = 0
  for (const variant of header.variants) bodyBytes += variant.bytes
  if (bodiesStart + bodyBytes !== value.length) return null

  const variants: StoredVariant[] = []
  let offset = bodiesStart
  for (const { policy, tags, bytes } of header.variants) {
    const restored = restorePolicy(policy)
    if (restored === null) return null
    variants.push({ policy: restored, tags, body: value.subarray(offset, offset + bytes) })
    offset += bytes
  }
  return { resource: { variants }, stored: header.stored, ttl: header.ttl }
}

function parseHeader (text: string): EntryHeader | null {
  let header: unknown
  try {
    header = JSON.parse(text)
  } catch {
    return null
  }
  if (!isRecord(header) || !isFiniteNumber(header.stored) || !isFiniteNumber(header.ttl) || !Array.isArray(header.variants)) return null
  const variants: VariantHeader[] = []
  for (const variant of header.variants as unknown[]) {
    if (!isRecord(variant) || !isRecord(variant.policy) || !isStringArray(variant.tags)) return null
    if (!Number.isSafeInteger(variant.bytes) || (variant.bytes as number) < 0) return null
    // The policy's own fields are CachePolicy.fromObject's to judge (it refuses another serialization version).
    variants.push({ policy: variant.policy as unknown as CachePolicy.CachePolicyObject, tags: variant.tags, bytes: variant.bytes as number })
  }
  return { stored: header.stored, ttl: header.ttl, variants }
}

function restorePolicy (policy: CachePolicy.CachePolicyObject): CachePolicy | null {
  // The response headers are read on every hit (policy facts, responseHeaders()): refuse a policy without them.
  if (!isRecord(policy.resh)) return null
  try {
    return CachePolicy.fromObject(policy)
  } catch {
    return null
  }
}

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isFiniteNumber (value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value)
}

function isStringArray (value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string')
}
