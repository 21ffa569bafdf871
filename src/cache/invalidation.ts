/**
 * RFC 9111 §4.4: a successful unsafe request invalidates what is stored for its target URI, and for the
 * URIs in its Location and Content-Location when they share the target's origin. Only paths of the same
 * service are ever touched.
 */
/** RFC 9110 §9.2.1. Every other method counts as unsafe, those of unknown safety included (RFC 9111 §4.4). */
const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE'])

export function isUnsafe (method: string): boolean {
  return !SAFE_METHODS.has(method)
}

const BASE = 'http://gatehouse.invalid'

/** Public URLs (path and query) whose stored responses a successful unsafe request makes invalid. */
export function invalidatedUrls (url: string, host: string | undefined, servicePrefix: string, locations: ReadonlyArray<string | undefined>): string[] {
  const urls = [url]
  let target: URL
  try {
    target = new URL(url, BASE)
  } catch {
    // A target the URL parser reads as an authority (`//[`): nothing else can be resolved against it.
    return urls
  }
  for (const location of locations) {
    if (location === undefined) continue
    let resolved: URL
    try {
      resolved = new URL(location, target)
    } catch {
      continue
    }
    // An absolute URI on another host names someone else's resource (§4.4: same origin only).
    if (resolved.origin !== BASE && resolved.host !== host) continue
    const path = resolved.pathname + resolved.search
    if (belongsTo(resolved.pathname, servicePrefix) && !urls.includes(path)) urls.push(path)
  }
  return urls
}

function belongsTo (path: string, prefix: string): boolean {
  if (prefix === '/') return true
  return path === prefix || path.startsWith(`${prefix}/`) || path.startsWith(`${prefix}?`)
}
