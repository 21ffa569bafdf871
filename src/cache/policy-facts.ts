/**
 * What the cache needs to know about a stored response beyond http-cache-semantics' public methods: the
 * request header values it was selected by (Vary, RFC 9111 §4.1), whether it may answer a request that
 * carries Authorization (§3.5), and its validators. Read once per policy object from its serialized form
 * and remembered (a memory-store entry keeps its policy object for its whole life).
 */
import type CachePolicy from 'http-cache-semantics'

type RequestHeaders = Readonly<Record<string, string | string[] | undefined>>

/**
 * Stored fields never copied onto an answer: the body decides its own length, purge tags are the gateway's,
 * hop-by-hop fields are the connection's (RFC 9110 §7.6.1), and Age and Date are the answer's own (Age is
 * computed per answer, Date is Node's).
 */
const NOT_SERVED = new Set(['content-length', 'cache-tag', 'surrogate-key', 'age', 'date', 'warning', 'connection',
  'keep-alive', 'proxy-connection', 'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade'])

export interface PolicyFacts {
  /** The stored fields an answer from it carries, in order (computed once, not per hit). */
  readonly served: ReadonlyArray<readonly [name: string, value: string | string[]]>
  /** The stored response's headers (the policy's own object: never modified). */
  readonly headers: Readonly<Record<string, string | string[]>>
  /** `must-revalidate` (fresh answers may still be used as they are). */
  readonly mustRevalidate: boolean
  readonly noCache: boolean
  readonly proxyRevalidate: boolean
  /** Names the variant among its resource's (its Vary selection), '' without Vary. */
  readonly variantId: string
  /** The upstream allowed stale-if-error at all (RFC 5861 §4). */
  readonly staleIfError: boolean
  /** The stored Vary header as sent. */
  readonly varyHeader: string | undefined
  /** Lower-case field names of Vary; null without Vary; '*' never matches another request. */
  readonly vary: readonly string[] | '*' | null
  /** The stored request's values of the Vary fields. */
  readonly selecting: RequestHeaders
  /** `public`, `s-maxage` or `must-revalidate`: a shared cache may use it for requests with Authorization. */
  readonly allowsAuthorized: boolean
  readonly etag: string | null
  readonly lastModified: string | null
  /** Freshness lifetime in seconds (RFC 9111 §4.2.1), fixed once stored: http-cache-semantics' maxAge(). */
  readonly maxAge: number
  /** The Age the upstream sent, in seconds (RFC 9111 §4.2.3 initial age, with the response time below). */
  readonly initialAge: number
  /** The stored response's status code. */
  readonly status: number
  /** Milliseconds the policy was made at (a stored body's version, with the key). */
  readonly responseTime: number
}

const facts = new WeakMap<CachePolicy, PolicyFacts>()

export function policyFacts (policy: CachePolicy): PolicyFacts {
  let known = facts.get(policy)
  if (known === undefined) {
    known = readFacts(policy, policy.toObject())
    facts.set(policy, known)
  }
  return known
}

function readFacts (policy: CachePolicy, stored: CachePolicy.CachePolicyObject): PolicyFacts {
  const headers = stored.resh as Record<string, string | undefined>
  const directives = stored.rescc as Record<string, string | boolean | undefined>
  const varyHeader = headers.vary?.trim().toLowerCase()
  const fields = varyHeader === undefined || varyHeader === '' ? null : varyHeader.split(/\s*,\s*/)
  const served: Array<readonly [string, string | string[]]> = []
  for (const name in headers) {
    const value = (stored.resh as Record<string, string | string[] | undefined>)[name]
    if (value !== undefined && !NOT_SERVED.has(name)) served.push([name, value])
  }
  return {
    served,
    headers: stored.resh as Record<string, string | string[]>,
    mustRevalidate: directives['must-revalidate'] !== undefined,
    noCache: directives['no-cache'] !== undefined,
    proxyRevalidate: directives['proxy-revalidate'] !== undefined,
    variantId: fields === null ? '' : JSON.stringify(stored.reqh ?? {}),
    staleIfError: directives['stale-if-error'] !== undefined,
    varyHeader: headers.vary,
    vary: fields === null ? null : fields.includes('*') ? '*' : fields,
    selecting: (stored.reqh ?? {}) as RequestHeaders,
    allowsAuthorized: directives.public !== undefined || directives['s-maxage'] !== undefined || directives['must-revalidate'] !== undefined,
    etag: headers.etag ?? null,
    lastModified: headers['last-modified'] ?? null,
    maxAge: policy.maxAge(),
    initialAge: Math.max(0, Number.parseInt(headers.age ?? '0', 10) || 0),
    status: stored.st,
    responseTime: stored.t
  }
}

/** RFC 9111 §4.1: the presented request's values of every Vary field equal the stored request's. */
export function varyMatches (known: PolicyFacts, headers: RequestHeaders): boolean {
  if (known.vary === null) return true
  if (known.vary === '*') return false
  for (const name of known.vary) {
    if (headers[name] !== known.selecting[name]) return false
  }
  return true
}

/** Current age in seconds, as http-cache-semantics' age() computes it, without re-reading headers. */
export function currentAge (known: PolicyFacts, now: number): number {
  // A clock that stepped back (or another host's, through a shared store) never makes an answer younger than stored.
  return known.initialAge + Math.max(0, now - known.responseTime) / 1000
}

/** no-cache, must-revalidate, and (for a shared cache) proxy-revalidate forbid serving it stale (RFC 9111 §4.2.4). */
export function forbidsStale (known: PolicyFacts, shared: boolean): boolean {
  return known.noCache || known.mustRevalidate || (shared && known.proxyRevalidate)
}
