/**
 * gateway.tls resolved: the certificate and key read and checked at load (a missing file, a key of another
 * certificate, an unparsable PEM are problems at their JSON paths, never a crash at listen time), the HSTS
 * value built once, the redirect listener's port checked against the HTTPS one.
 */
import { resolve as resolvePath } from 'node:path'
import type { Static } from '@sinclair/typebox'
import { checkKeyPair } from '../tls/key-pair.js'
import { readTextFile, type FileContext } from './files.js'
import { TLS_DEFAULTS } from './defaults.js'
import type { GatewayTls, HstsOptions } from './listener-schema.js'
import type { ListenerTlsSettings } from './types.js'

const AT = 'gateway.tls'
// https://hstspreload.org/#submission-requirements
const PRELOAD_MIN_MAX_AGE = 31_536_000

export async function resolveListenerTls (tls: Static<typeof GatewayTls>, listenPort: number, files: FileContext): Promise<ListenerTlsSettings | null> {
  const before = files.problems.length
  const pair = await readPair(tls.cert, tls.key, AT, files)
  const hsts = hstsValue(tls.hsts, files)
  const redirectHttp = tls.redirectHttp === undefined || tls.redirectHttp === false
    ? null
    : { port: tls.redirectHttp.port, host: tls.redirectHttp.host ?? null }
  if (redirectHttp !== null && redirectHttp.port !== 0 && redirectHttp.port === listenPort) {
    files.problems.push({
      path: `${AT}.redirectHttp.port`,
      message: `port ${redirectHttp.port} is the HTTPS listener's own port`,
      hint: 'give the redirect listener another port, or move the HTTPS listener with gateway.listen.port'
    })
  }
  if (pair === undefined || files.problems.length > before) return null
  return {
    ...pair,
    minVersion: tls.minVersion ?? TLS_DEFAULTS.minVersion,
    http2: tls.http2 ?? false,
    redirectHttp,
    hsts,
    reload: tls.reload ?? true
  }
}

/**
 * Reads a certificate and its key (both relative to services.json) and checks that they belong together.
 * `at` is the object holding the `cert` and `key` keys. Also used for upstream client certificates.
 */
export async function readPair (certFile: string, keyFile: string, at: string, files: FileContext):
Promise<{ cert: string, key: string, certFile: string, keyFile: string } | undefined> {
  const [cert, key] = await Promise.all([
    readTextFile(certFile, `${at}.cert`, files),
    readTextFile(keyFile, `${at}.key`, files)
  ])
  if (cert === undefined || key === undefined) return undefined
  const checked = checkKeyPair({ cert, key })
  if ('fault' in checked) {
    const { part, message, hint } = checked.fault
    files.problems.push({ path: `${at}.${part}`, message: `"${part === 'cert' ? certFile : keyFile}" ${message}`, hint })
    return undefined
  }
  return { cert, key, certFile: resolvePath(files.baseDir, certFile), keyFile: resolvePath(files.baseDir, keyFile) }
}

function hstsValue (hsts: boolean | Static<typeof HstsOptions> | undefined, files: FileContext): string | null {
  if (hsts === undefined || hsts === false) return null
  const options = hsts === true ? {} : hsts
  const maxAge = options.maxAge ?? TLS_DEFAULTS.hstsMaxAge
  if (options.preload === true && (options.includeSubDomains !== true || maxAge < PRELOAD_MIN_MAX_AGE)) {
    files.problems.push({
      path: `${AT}.hsts.preload`,
      message: `preload lists require includeSubDomains and a maxAge of at least ${PRELOAD_MIN_MAX_AGE}`,
      hint: 'set "includeSubDomains": true and "maxAge": 31536000, or drop "preload"'
    })
  }
  return `max-age=${maxAge}${options.includeSubDomains === true ? '; includeSubDomains' : ''}${options.preload === true ? '; preload' : ''}`
}
