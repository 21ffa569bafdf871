/**
 * Rules of a service that name "some paths and methods" (public routes, auth rules, rate-limit routes):
 * `path` is below the service prefix, "/x" meaning exactly /prefix/x and "/x/*" meaning /prefix/x and
 * everything below it. Compiled once; matching a request is a string comparison, no regex, no allocation.
 */
import type { RouteMatchSettings } from '../config/types.js'

export type RouteTest = (method: string, pathBelowPrefix: string) => boolean

export function compileRouteMatch ({ path, methods }: RouteMatchSettings): RouteTest {
  // HEAD is GET without the body (RFC 9110 §9.3.2), and frameworks run GET handlers for it: a rule on GET
  // that left HEAD out would be a way around it.
  const methodSet = methods === null ? null : new Set(methods.includes('GET') ? [...methods, 'HEAD'] : methods)
  const matchesPath = compilePath(path)
  return (method, pathBelowPrefix) => (methodSet === null || methodSet.has(method)) && matchesPath(pathBelowPrefix)
}

function compilePath (path: string): (candidate: string) => boolean {
  if (path === '/*') return () => true
  if (path.endsWith('/*')) {
    const base = path.slice(0, -2)
    const below = `${base}/`
    return (candidate) => candidate === base || candidate.startsWith(below)
  }
  return (candidate) => candidate === path
}

/**
 * The request path below `prefix`, without the query ("/" for the prefix itself). Paths reaching a service
 * scope were already checked for dot-segments and encoded separators (src/http/path-guard.ts).
 */
export function pathBelowPrefix (url: string, prefixLength: number): string {
  const query = url.indexOf('?', prefixLength)
  const path = query === -1 ? url.slice(prefixLength) : url.slice(prefixLength, query)
  return path === '' ? '/' : path
}
