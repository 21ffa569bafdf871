/**
 * Hashing for consistent-hash load balancing: FNV-1a over the key (fast, stable across processes and
 * restarts, so every gateway replica maps a key the same way), mixed with each replica's seed by
 * MurmurHash3's finalizer so that scores of different replicas are independent.
 */
const FNV_OFFSET = 0x811c9dc5
const FNV_PRIME = 0x01000193

export function fnv1a (text: string): number {
  let hash = FNV_OFFSET
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index)
    hash = Math.imul(hash, FNV_PRIME)
  }
  return hash >>> 0
}

/** A uniform value in (0, 1) for (key, seed). */
export function unitScore (keyHash: number, seed: number): number {
  let h = (keyHash ^ seed) >>> 0
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return ((h >>> 0) + 0.5) / 4294967296
}
