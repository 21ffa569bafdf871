/**
 * The path that rules which *restrict* a request match (per-route rate-limit tiers, auth rules with extra
 * scopes), normalised so that spelling a path differently never escapes them: percent-decoded (RFC 3986
 * §6.2.2.2; encoded "/" "." "\" never get this far, the path guard refuses them), repeated slashes
 * collapsed, a trailing slash dropped, and `;` path parameters removed from each segment (RFC 3986 §3.3;
 * Tomcat and Spring route /x;jsessionid=1 as /x), since upstreams commonly treat /x, /%78, //x, /x/ and
 * /x;p alike.
 * Rules that *exempt* a request (auth's public routes) match the literal path instead: there a looser
 * match would exempt more. Upstreams that ignore case are not covered: rules are case-sensitive.
 */
import { pathBelowPrefix } from './route-match.js'

const REPEATED_SLASHES = /\/{2,}/g
const PATH_PARAMETERS = /;[^/]*/g

/** "/users/a%62c/?x=1" below "/users" (length 6) → "/abc". */
export function normalizedPathBelowPrefix (url: string, prefixLength: number): string {
  let path = pathBelowPrefix(url, prefixLength)
  if (path.includes('%')) path = decoded(path)
  if (path.includes(';')) path = path.replace(PATH_PARAMETERS, '')
  if (path.includes('//')) path = path.replace(REPEATED_SLASHES, '/')
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1)
  return path === '' ? '/' : path
}

function decoded (path: string): string {
  try {
    return decodeURIComponent(path)
  } catch {
    return path
  }
}
