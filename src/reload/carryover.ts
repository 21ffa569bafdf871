/**
 * What outlives one gateway instance across a reload (issue 6): upstream pools and their keep-alive
 * connections, Redis clients, the response store, rate-limit counters, JWKS key rings. Each is acquired
 * under a name and a fingerprint of the settings it was made from: a new instance built with the same
 * settings gets the same object, one built with changed settings gets a new one. Objects are counted per
 * holder and disposed of when the last instance holding them closes, so a reload that keeps a pool never
 * closes it, and one that repoints a service closes the old pool only after the old instance drained.
 */

export interface Holding {
  /** The object for `name` made from `settings` (compared as JSON): shared when already held, else made now. */
  acquire<T> (name: string, settings: unknown, make: () => T, dispose: (value: T) => Promise<void> | void): T
  /** Gives back everything this holder acquired; objects no other holder has are disposed of. */
  release (): Promise<void>
}

interface Held {
  readonly value: unknown
  readonly dispose: (value: unknown) => Promise<void> | void
  holders: number
}

export class Carryover {
  readonly #held = new Map<string, Held>()

  /** A holder for one gateway instance. */
  holding (): Holding {
    const keys = new Set<string>()
    let released = false
    return {
      acquire: <T>(name: string, settings: unknown, make: () => T, dispose: (value: T) => Promise<void> | void): T => {
        if (released) throw new Error(`"${name}" acquired after its gateway instance released what it held`)
        const key = `${name}\u0000${fingerprint(settings)}`
        let held = this.#held.get(key)
        if (held === undefined) {
          held = { value: make(), dispose: dispose as (value: unknown) => Promise<void> | void, holders: 0 }
          this.#held.set(key, held)
        }
        if (!keys.has(key)) {
          keys.add(key)
          held.holders++
        }
        return held.value as T
      },
      release: async () => {
        if (released) return
        released = true
        const disposals: Array<Promise<void>> = []
        for (const key of keys) {
          const held = this.#held.get(key)
          if (held === undefined || --held.holders > 0) continue
          this.#held.delete(key)
          // One failing dispose must not keep the others from running.
          disposals.push(Promise.resolve().then(() => held.dispose(held.value)))
        }
        const failed = (await Promise.allSettled(disposals)).find((outcome) => outcome.status === 'rejected')
        if (failed !== undefined) throw failed.reason
      }
    }
  }
}

/** Settings compare by their JSON: Buffers (CA bundles, client keys) serialize their bytes. */
function fingerprint (settings: unknown): string {
  return JSON.stringify(settings) ?? 'undefined'
}

/** The dispose of objects that need no closing (memory counters, memory stores): the last reference going frees them. */
export function nothingToClose (): void {}
