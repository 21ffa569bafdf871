/** The caller a verified token names: what authorization, the user rate-limit tier and identity headers read. */
export interface Principal {
  /** The token's `sub`, or null when it has none. */
  readonly subject: string | null
  /** The verified claims (the token's payload). */
  readonly claims: Readonly<Record<string, unknown>>
  /** Scopes from `scope` (space-separated) or `scp` (a list). */
  readonly scopes: ReadonlySet<string>
}
