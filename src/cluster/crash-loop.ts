/**
 * When a worker that exited without being asked to is replaced, and when the primary gives up.
 *
 * The rule: an exit within EARLY_EXIT_MS of the worker's fork is an early exit. Early exits in a row back off
 * the replacement (250 ms, 500 ms, 1 s, 2 s, … at most 5 s); the MAX_EARLY_EXITS-th in a row makes the
 * primary give up (stop the other workers, exit 1) so that a gateway that cannot boot — a port in use, a
 * plugin that throws — fails where its supervisor sees it instead of forking forever. The streak ends when
 * any worker has lived past EARLY_EXIT_MS; a worker that crashes after that is replaced at once.
 */
export const EARLY_EXIT_MS = 10_000
export const MAX_EARLY_EXITS = 5
const FIRST_DELAY_MS = 250
const MAX_DELAY_MS = 5_000

export type CrashVerdict =
  | { readonly replaceAfterMs: number, readonly earlyExits: number }
  | { readonly giveUp: true, readonly earlyExits: number }

export class CrashLoop {
  #earlyExits = 0

  /** A worker lived past the early window: whatever crashed before, workers can run. */
  survived (): void {
    this.#earlyExits = 0
  }

  /** A worker exited unasked `uptimeMs` after its fork. */
  crashed (uptimeMs: number): CrashVerdict {
    if (uptimeMs >= EARLY_EXIT_MS) {
      this.#earlyExits = 0
      return { replaceAfterMs: 0, earlyExits: 0 }
    }
    const earlyExits = ++this.#earlyExits
    if (earlyExits >= MAX_EARLY_EXITS) return { giveUp: true, earlyExits }
    return { replaceAfterMs: Math.min(FIRST_DELAY_MS * 2 ** (earlyExits - 1), MAX_DELAY_MS), earlyExits }
  }
}
