/**
 * Settings a reload cannot apply: they belong to the listener, which stays open across reloads so that no
 * connection is dropped. A changed one refuses the reload (the running configuration keeps serving) with
 * the path of each, instead of applying the rest and leaving the file and the gateway disagreeing.
 */
import { isDeepStrictEqual } from 'node:util'
import type { ConfigProblem } from '../config/problems.js'
import type { GatewayConfig } from '../config/types.js'

const LISTENER_SETTINGS: ReadonlyArray<{ readonly path: string, readonly read: (config: GatewayConfig) => unknown }> = [
  { path: 'gateway.listen', read: (config) => config.listen },
  // The certificate files' contents are the TLS reloader's business, HSTS is a response header; the rest
  // of gateway.tls shapes the listener.
  { path: 'gateway.tls', read: (config) => config.tls === null ? null : { ...config.tls, cert: undefined, key: undefined, hsts: undefined } },
  { path: 'gateway.limits.headerBytes', read: (config) => config.limits.headerBytes },
  { path: 'gateway.timeouts.requestHeaders', read: (config) => config.timeouts.requestHeaders },
  { path: 'gateway.timeouts.keepAlive', read: (config) => config.timeouts.keepAlive },
  // The plain-HTTP redirect listener answers the admin health paths itself, computed when it starts.
  { path: 'gateway.adminPrefix', read: (config) => config.tls?.redirectHttp == null ? null : config.adminPrefix }
]

/** One problem per listener setting that differs between the running configuration and the next. */
export function listenerChanges (running: GatewayConfig, next: GatewayConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = []
  for (const { path, read } of LISTENER_SETTINGS) {
    if (isDeepStrictEqual(read(running), read(next))) continue
    problems.push({
      path,
      message: 'changed, but it belongs to the listener, which a reload keeps open',
      hint: 'restart the gateway to apply it (with --workers, SIGHUP restarts the workers one at a time)'
    })
  }
  return problems
}
