/**
 * The path a per-route tier matches (src/http/route-match.ts), normalised so that spelling a path
 * differently never escapes a tighter limit: percent-decoded (RFC 3986 §6.2.2.2; encoded "/" "." "\"
 * never get this far, the path guard refuses them), repeated slashes collapsed and a trailing slash
 * dropped, since upstreams commonly treat /x, /%78, //x and /x/ alike. Auth's public routes must not do
 * this (there a looser match would exempt more); for a limit, a looser match only counts more.
 */
import { pathBelowPrefix } from '../http/route-match.js'

const REPEATED_SLASHES = /\/{2,}/g

/** "/users/a%62c/?x=1" below "/users" → "/abc". */
export function countedPath (url: string, prefix: string): string {
  let path = pathBelowPrefix(url, prefix === '/' ? 0 : prefix.length)
  if (path.includes('%')) path = decoded(path)
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
