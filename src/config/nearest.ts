import { distance } from 'fastest-levenshtein'

/** Nearest valid key for a typo, so "unknown key `upstream`" can say "did you mean `upstreams`?". */
export function nearestKey (typed: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of candidates) {
    const candidateDistance = distance(typed.toLowerCase(), candidate.toLowerCase())
    if (candidateDistance < bestDistance) {
      best = candidate
      bestDistance = candidateDistance
    }
  }
  // Beyond about a third of the word, a "suggestion" is noise.
  return bestDistance <= Math.max(2, Math.floor(typed.length / 3)) ? best : undefined
}
