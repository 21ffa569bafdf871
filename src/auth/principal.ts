/** The caller a verified token names: what authorization, the user rate-limit tier and identity headers read. */
export interface Principal {
  /** The token's `sub`, or null when it has none. */
  readonly subject: string | null
  /** The verified claims (the token's payload). */
  readonly claims: Readonly<Record<string, unknown>>
  /** Scopes from `scope` (space-separated, RFC 8693 §4.2) and `scp` (a list as Okta sends it, or a
   * space-separated string as Azure AD does). */
  readonly scopes: ReadonlySet<string>
  /** The scopes space-separated, as the `x-user-scopes`-style identity header carries them; null when they
   * hold characters a header value cannot (a signed token can still carry CR/LF). */
  readonly scopeList: string | null
}

// Visible ASCII, space and tab: anything else (CR/LF, NUL, non-ASCII) is not a safe header value.
export const SAFE_HEADER_VALUE = /^[\t\x20-\x7e]*$/

// fast-jwt's cache hands back the same payload object for a repeated token, so its principal is built once.
const principals = new WeakMap<object, Principal>()

export function principalFor (claims: Readonly<Record<string, unknown>>): Principal {
  let principal = principals.get(claims)
  if (principal === undefined) {
    const scopes = scopesOf(claims)
    const scopeList = [...scopes].join(' ')
    principal = { subject: typeof claims.sub === 'string' ? claims.sub : null, claims, scopes, scopeList: SAFE_HEADER_VALUE.test(scopeList) ? scopeList : null }
    principals.set(claims, principal)
  }
  return principal
}

function scopesOf (claims: Readonly<Record<string, unknown>>): ReadonlySet<string> {
  const scopes = new Set<string>()
  if (typeof claims.scope === 'string') for (const scope of claims.scope.split(' ')) if (scope !== '') scopes.add(scope)
  const scp = claims.scp
  if (typeof scp === 'string') for (const scope of scp.split(' ')) if (scope !== '') scopes.add(scope)
  if (Array.isArray(scp)) for (const scope of scp) if (typeof scope === 'string') scopes.add(scope)
  return scopes
}
