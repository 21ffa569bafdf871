/** Cross-entry checks of the access-control settings: what a service asks for must exist at the gateway. */
import type { ServicesFile } from './schema.js'
import type { ConfigProblem } from './problems.js'

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]'])

function isSafeKeySetUrl (url: URL): boolean {
  return url.protocol === 'https:' || LOOPBACK_HOSTS.has(url.hostname)
}

export function checkAccessSemantics (file: ServicesFile): ConfigProblem[] {
  const problems: ConfigProblem[] = []
  const auth = file.gateway?.auth
  if (auth !== undefined && (auth.secrets ?? []).length + (auth.publicKeys ?? []).length + (auth.jwks ?? []).length === 0) {
    problems.push({ path: 'gateway.auth', message: 'no key source is configured, so no token could ever be verified', hint: 'add secrets, publicKeys or jwks' })
  }
  if (file.gateway?.rateLimit?.store === 'redis' && file.gateway.redis === undefined) {
    problems.push({ path: 'gateway.rateLimit.store', message: '"redis" needs gateway.redis', hint: 'add gateway.redis { "url": "${REDIS_URL}" } or use "memory"' })
  }
  auth?.jwks?.forEach((source, index) => {
    // Keys fetched in clear text can be replaced by anyone on the path: only loopback may skip TLS.
    if (URL.canParse(source.url) && !isSafeKeySetUrl(new URL(source.url))) {
      problems.push({ path: `gateway.auth.jwks[${index}].url`, message: `"${source.url}" is not https://`, hint: 'fetch key sets over https (http:// is accepted for loopback addresses only)' })
    }
  })
  file.services.forEach((service, index) => {
    if (service.auth !== undefined && service.auth !== false && auth === undefined) {
      problems.push({ path: `services[${index}].auth`, message: `service "${service.name}" requires tokens but gateway.auth has no keys`, hint: 'add gateway.auth with secrets, publicKeys or jwks' })
    }
    // Fetch standard: a credentialed response may not allow every origin.
    if (service.cors?.credentials === true && service.cors.origins.includes('*')) {
      problems.push({ path: `services[${index}].cors.origins`, message: '"*" cannot be combined with credentials', hint: 'list the allowed origins explicitly' })
    }
  })
  return problems
}
