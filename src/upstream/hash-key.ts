/**
 * The consistent-hash key of a request, read from the headers it carries upstream: the client IP the
 * gateway resolved (X-Real-IP, which the gateway always sets itself), a header, or a cookie (sticky sessions).
 */
import type { HashKeySettings } from '../config/types.js'
import type { HashKeyOf } from './pool-dispatcher.js'

export function hashKeyReader (hashOn: HashKeySettings): HashKeyOf {
  if (hashOn === 'ip') return (headers) => stringOf(headers['x-real-ip'])
  if ('header' in hashOn) {
    const name = hashOn.header.toLowerCase()
    return (headers) => stringOf(headers[name])
  }
  const prefix = `${hashOn.cookie}=`
  return (headers) => cookieValue(stringOf(headers.cookie), prefix)
}

function stringOf (value: unknown): string | null {
  if (typeof value === 'string') return value === '' ? null : value
  if (Array.isArray(value)) return value.length === 0 ? null : value.join(', ')
  return null
}

/** The value of the cookie `prefix` names (RFC 6265 §5.4: "name=value" pairs separated by "; "). */
function cookieValue (header: string | null, prefix: string): string | null {
  if (header === null) return null
  for (const pair of header.split(';')) {
    const trimmed = pair.trim()
    if (trimmed.startsWith(prefix)) return trimmed.length > prefix.length ? trimmed.slice(prefix.length) : null
  }
  return null
}
