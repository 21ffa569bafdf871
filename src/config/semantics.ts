/** Checks that span several entries and that a JSON Schema cannot say: unique names, distinct prefixes. */
import proxyAddr from 'proxy-addr'
import type { ServicesFile } from './schema.js'
import { DEFAULTS } from './defaults.js'
import type { ConfigProblem } from './problems.js'
import { checkAccessSemantics } from './access-semantics.js'
import { checkDeliverySemantics } from './delivery-semantics.js'

export function checkSemantics (file: ServicesFile): ConfigProblem[] {
  return [...checkUniqueNames(file), ...checkPrefixes(file), ...checkUpstreamUrls(file), ...checkAddressLists(file), ...checkAccessSemantics(file), ...checkDeliverySemantics(file), ...checkBalancing(file)]
}

function checkUniqueNames (file: ServicesFile): ConfigProblem[] {
  const problems: ConfigProblem[] = []
  const firstByName = new Map<string, number>()
  file.services.forEach((service, index) => {
    const first = firstByName.get(service.name)
    if (first === undefined) {
      firstByName.set(service.name, index)
      return
    }
    problems.push({
      path: `services[${index}].name`,
      message: `service name "${service.name}" is already used by services[${first}]`,
      hint: 'give one of them a different name'
    })
  })
  return problems
}

function checkPrefixes (file: ServicesFile): ConfigProblem[] {
  const problems: ConfigProblem[] = []
  const adminPrefix = file.gateway?.adminPrefix ?? DEFAULTS.adminPrefix
  const firstByPrefix = new Map<string, number>()
  file.services.forEach((service, index) => {
    const first = firstByPrefix.get(service.prefix)
    if (first !== undefined) {
      problems.push({
        path: `services[${index}].prefix`,
        message: `prefix "${service.prefix}" is already routed to services[${first}] ("${file.services[first]?.name}")`,
        hint: 'set a different prefix on one of them'
      })
    } else {
      firstByPrefix.set(service.prefix, index)
    }
    if (service.prefix !== '/' && (isWithin(service.prefix, adminPrefix) || isWithin(adminPrefix, service.prefix))) {
      problems.push({
        path: `services[${index}].prefix`,
        message: `prefix "${service.prefix}" collides with the gateway's admin prefix "${adminPrefix}"`,
        hint: 'set a different prefix on the service, or set gateway.adminPrefix'
      })
    }
  })
  return problems
}

/** True when `path` is `prefix` itself or below it on a segment boundary. */
function isWithin (path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`)
}

/** The schema checks the shape of an upstream URL; the WHATWG parser has the last word (ports, IPv6 brackets). */
function checkUpstreamUrls (file: ServicesFile): ConfigProblem[] {
  const problems: ConfigProblem[] = []
  file.services.forEach((service, serviceIndex) => {
    service.upstreams.forEach((upstream, upstreamIndex) => {
      const url = typeof upstream === 'string' ? upstream : upstream.url
      if (URL.canParse(url)) return
      problems.push({
        path: `services[${serviceIndex}].upstreams[${upstreamIndex}]${typeof upstream === 'string' ? '' : '.url'}`,
        message: `"${url}" is not a valid URL`,
        hint: 'write it like http://users:3000 (a port from 1 to 65535, IPv6 addresses in brackets)'
      })
    })
  })
  return problems
}

/** Every CIDR list (trusted proxies, IP allow/deny) must parse, or it would match nothing silently. */
function checkAddressLists (file: ServicesFile): ConfigProblem[] {
  const lists: Array<[string, readonly string[] | undefined]> = [
    ['gateway.trustedProxies', file.gateway?.trustedProxies],
    ['gateway.ipAccess.allow', file.gateway?.ipAccess?.allow],
    ['gateway.ipAccess.deny', file.gateway?.ipAccess?.deny],
    ['gateway.rateLimit.perIp.allow', file.gateway?.rateLimit?.perIp?.allow]
  ]
  file.services.forEach((service, index) => {
    if (typeof service.ipAccess !== 'object') return
    lists.push([`services[${index}].ipAccess.allow`, service.ipAccess.allow], [`services[${index}].ipAccess.deny`, service.ipAccess.deny])
  })
  const problems: ConfigProblem[] = []
  for (const [path, list] of lists) {
    list?.forEach((entry, index) => {
      try {
        proxyAddr.compile(entry)
      } catch {
        problems.push({
          path: `${path}[${index}]`,
          message: `"${entry}" is not an IP address or CIDR`,
          hint: 'write it like 10.0.0.0/8, 172.16.0.0/12 or ::1'
        })
      }
    })
  }
  return problems
}

/** Options that only mean something together: a hash strategy needs its key, a key needs the hash strategy. */
function checkBalancing (file: ServicesFile): ConfigProblem[] {
  const problems: ConfigProblem[] = []
  file.services.forEach((service, index) => {
    const balancing = service.loadBalancing
    if (typeof balancing !== 'object') return
    const hashing = balancing.strategy === 'consistent-hash'
    if (hashing && balancing.hashOn === undefined) {
      problems.push({ path: `services[${index}].loadBalancing.hashOn`, message: '"consistent-hash" needs hashOn', hint: 'set hashOn to "ip", { "header": "x-user-id" } or { "cookie": "session" }' })
    }
    if (!hashing && balancing.hashOn !== undefined) {
      problems.push({ path: `services[${index}].loadBalancing.hashOn`, message: `hashOn has no effect with strategy "${balancing.strategy ?? 'round-robin'}"`, hint: 'set "strategy": "consistent-hash", or remove hashOn' })
    }
  })
  return problems
}
