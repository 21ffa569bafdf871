/**
 * The load-balancing strategies, each a pass over the pool's members that returns the chosen index or -1.
 * `eligible(index)` says whether a member may be chosen in this pass (available, of the pass' tier —
 * primaries, or backups when no primary is — and not already tried by this request).
 * Weights are "effective" weights: the configured weight, ramped down while a member slow-starts.
 */
import { unitScore } from './hash.js'
import type { Member } from './member.js'

export type Eligible = (index: number) => boolean
export type EffectiveWeight = (member: Member) => number

/** nginx's smooth weighted round-robin: 5/1/1 goes a,a,b,a,c,a,a, never a burst of five. */
export function pickRoundRobin (members: readonly Member[], eligible: Eligible, weightOf: EffectiveWeight): number {
  let best = -1
  let total = 0
  for (let index = 0; index < members.length; index++) {
    if (!eligible(index)) continue
    const member = members[index] as Member
    const weight = weightOf(member)
    member.current += weight
    total += weight
    if (best === -1 || member.current > (members[best] as Member).current) best = index
  }
  if (best !== -1) (members[best] as Member).current -= total
  return best
}

/**
 * Power of two choices on in-flight requests per unit of weight (Envoy's least-request): two distinct
 * random candidates, the less loaded wins. Nearly as good as scanning for the least loaded, without
 * every gateway process herding onto the same replica.
 */
export function pickLeastRequest (members: readonly Member[], eligible: Eligible, weightOf: EffectiveWeight, random: () => number): number {
  let count = 0
  for (let index = 0; index < members.length; index++) if (eligible(index)) count++
  if (count <= 1) return count === 0 ? -1 : firstEligible(members, eligible)
  const first = Math.floor(random() * count)
  let second = Math.floor(random() * (count - 1))
  if (second >= first) second++
  const a = nthEligible(members, eligible, first)
  const b = nthEligible(members, eligible, second)
  return load(members[a] as Member, weightOf) <= load(members[b] as Member, weightOf) ? a : b
}

function load (member: Member, weightOf: EffectiveWeight): number {
  return (member.inflight + 1) / weightOf(member)
}

function firstEligible (members: readonly Member[], eligible: Eligible): number {
  for (let index = 0; index < members.length; index++) if (eligible(index)) return index
  return -1
}

function nthEligible (members: readonly Member[], eligible: Eligible, nth: number): number {
  let seen = 0
  for (let index = 0; index < members.length; index++) {
    if (!eligible(index)) continue
    if (seen === nth) return index
    seen++
  }
  return -1
}

/**
 * Weighted rendezvous hashing: every member scores the key, the best score wins. A key keeps its member
 * while that member is eligible; when it is not, the key goes to its next best, and only the keys of an
 * added or removed member move (1/n of them), with no ring to build.
 */
export function pickByHash (members: readonly Member[], eligible: Eligible, weightOf: EffectiveWeight, keyHash: number): number {
  let best = -1
  let bestScore = Number.NEGATIVE_INFINITY
  for (let index = 0; index < members.length; index++) {
    if (!eligible(index)) continue
    const member = members[index] as Member
    const score = weightOf(member) / -Math.log(unitScore(keyHash, member.seed))
    if (score > bestScore) {
      bestScore = score
      best = index
    }
  }
  return best
}
