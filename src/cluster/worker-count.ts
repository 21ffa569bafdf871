/** `--workers N|auto`: how many gateway processes `gatehouse start` runs. 1 (the default) means no cluster at all. */
import { availableParallelism } from 'node:os'

/**
 * Each worker is a whole gateway (its own upstream pools, caches, Redis connections): a count past this is
 * a typo rather than a plan, and forking it would exhaust the machine before the mistake shows.
 */
export const MAX_WORKERS = 256

export type WorkerCount = { readonly workers: number } | { readonly problem: string }

export function parseWorkerCount (value: string | undefined): WorkerCount {
  if (value === undefined) return { workers: 1 }
  if (value === 'auto') return { workers: availableParallelism() }
  const workers = /^\d+$/.test(value) ? Number(value) : Number.NaN
  if (workers >= 1 && workers <= MAX_WORKERS) return { workers }
  return { problem: `--workers must be "auto" or a whole number from 1 to ${MAX_WORKERS}, not "${value}"` }
}
