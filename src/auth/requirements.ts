/** Authorization: the scopes and claim values a principal must have (403 `insufficient_scope` when not). */
import type { AuthRequirements, ClaimValue } from '../config/types.js'
import type { Principal } from './principal.js'

export type RequirementCheck = (principal: Principal) => boolean

/** null when there is nothing to check, so the hot path skips the call. */
export function compileRequirements ({ scopes, claims }: AuthRequirements): RequirementCheck | null {
  const claimEntries = Object.entries(claims)
  if (scopes.length === 0 && claimEntries.length === 0) return null
  return (principal) => {
    for (const scope of scopes) if (!principal.scopes.has(scope)) return false
    for (const [name, accepted] of claimEntries) if (!claimMatches(principal.claims[name], accepted)) return false
    return true
  }
}

/** A claim matches when it is one of the accepted values, or a list that contains one of them. */
function claimMatches (value: unknown, accepted: readonly ClaimValue[]): boolean {
  if (Array.isArray(value)) return value.some((item) => accepted.includes(item as ClaimValue))
  return accepted.includes(value as ClaimValue)
}
