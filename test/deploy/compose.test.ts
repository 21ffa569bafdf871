import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { DEFAULTS } from '../../src/config/defaults.js'
import { loadConfig } from '../../src/config/load.js'
import { describe, it, expect } from 'vitest'
import {
  ROOT, dependencyConditions, dockerCmd, environmentOf, exposedPorts, findComposeCli, gatewayServices,
  healthcheckCommand, mountsOf, placeholdersIn, portMappings, readCompose, readServicesFile, readText, upstreamPlaceholders
} from './deploy-files.js'

const services = readCompose()
const gateway = services.gateway
const gatewayEnv = gateway === undefined ? new Map<string, string>() : environmentOf(gateway)
const gateways = gatewayServices(services)
const gatewayNames = gateways.map(([name]) => name)

/** The port services.json listens on, with the environment Compose gives a gateway. */
function listenPortOf (env: Map<string, string>): string | undefined {
  const placeholder = placeholdersIn(String(readServicesFile().gateway?.listen?.port ?? '')).at(0)
  return env.get(placeholder?.name ?? '') ?? placeholder?.fallback
}

/** Compose interpolates `${VAR:-fallback}` in its own file first: a demo user without the variable gets the fallback. */
function composedEnvOf (env: Map<string, string>): Record<string, string> {
  return Object.fromEntries([...env].map(([name, value]) => [name, value.replace(/\$\{[A-Za-z_][A-Za-z0-9_]*:-([^}]*)\}/g, '$1')]))
}

describe('docker-compose.yml publishes only the gateways', () => {
  it('has a gateway service built from this directory', () => {
    expect(gateway).toBeDefined()
    expect(gateway?.build).toBeDefined()
  })

  it('runs a second gateway from the same image, so the demo shows replicas sharing state', () => {
    expect(gatewayNames).toEqual(['gateway', 'gateway-2'])
  })

  it('publishes ports on the gateways and on no other service', () => {
    const publishing = Object.entries(services).filter(([, service]) => (service.ports ?? []).length > 0).map(([name]) => name)
    expect(publishing).toEqual(gatewayNames)
  })

  it('publishes each gateway on a host port of its own', () => {
    const hostPorts = gateways.flatMap(([, service]) => portMappings(service).map((port) => port.host))
    expect(hostPorts).not.toContain(undefined)
    expect(new Set(hostPorts).size).toBe(hostPorts.length)
  })

  describe.each(gateways)('%s', (_name, service) => {
    const env = environmentOf(service)

    it('publishes the port the gateway listens on inside the container', () => {
      expect(portMappings(service).map((port) => port.container)).toContain(listenPortOf(env))
    })

    it('makes the gateway listen on every interface so the published port reaches it', () => {
      expect(env.get('GATEHOUSE_HOST')).toBe('0.0.0.0')
    })

    it('has a health check on the admin healthz, on a port it publishes (8080 also answers it with HTTPS on)', () => {
      expect(service.healthcheck?.disable).not.toBe(true)
      const probe = /:(\d+)(\/\S*)'/.exec(healthcheckCommand(service))
      expect(probe?.[2]).toBe(`${DEFAULTS.adminPrefix}/healthz`)
      expect(portMappings(service).map((port) => port.container)).toContain(probe?.[1])
    })

    it('binds ./services.json read-only at the path the Dockerfile CMD passes to --config', () => {
      const cmd = dockerCmd()
      const configPath = cmd.includes('--config') ? cmd[cmd.indexOf('--config') + 1] : undefined
      expect(configPath).toBeDefined()
      const mount = mountsOf(service).find((entry) => entry.target === configPath)
      expect(mount, `no volume mounted at ${configPath}`).toBeDefined()
      expect(mount?.source).toMatch(/^(\.\/)?services\.json$/)
      expect(mount?.readOnly).toBe(true)
    })
  })
})

describe('docker-compose.yml wires every upstream in services.json', () => {
  const placeholders = upstreamPlaceholders()

  it('finds upstream placeholders in services.json', () => {
    expect(placeholders.map((placeholder) => placeholder.name)).toEqual(
      expect.arrayContaining(['USERS_URL', 'ORDERS_1_URL', 'ORDERS_2_URL', 'CART_URL']))
  })

  describe.each(placeholders.map((placeholder) => placeholder.name))('%s', (name) => {
    const url = new URL(gatewayEnv.get(name) ?? 'invalid:')
    const target = services[url.hostname]

    it('is set in the gateway environment to a URL naming a compose service', () => {
      expect(gatewayEnv.has(name), `gateway.environment.${name} is missing`).toBe(true)
      expect(url.protocol).toBe('http:')
      expect(Object.keys(services)).toContain(url.hostname)
    })

    it('points at the port that service listens on and exposes', () => {
      expect(target).toBeDefined()
      if (target === undefined) return
      expect(url.port).toBe(environmentOf(target).get('PORT'))
      expect(exposedPorts(target)).toContain(Number(url.port))
      expect(target.ports ?? []).toEqual([])
    })

    it('names a service that listens on every interface and has a health check on /health', () => {
      if (target === undefined) return expect.fail(`no compose service named ${url.hostname}`)
      expect(environmentOf(target).get('HOST')).toBe('0.0.0.0')
      expect(target.healthcheck?.disable).not.toBe(true)
      const probe = healthcheckCommand(target)
      expect(probe).toContain('/health')
      // The probe must hit the port the service listens on: literally, or through the same PORT variable.
      expect(probe.includes(`:${url.port}/`) || probe.includes('process.env.PORT')).toBe(true)
    })

    it('is a service every gateway waits for until it is healthy', () => {
      for (const [name, service] of gateways) expect(dependencyConditions(service).get(url.hostname), name).toBe('service_healthy')
    })
  })
})

describe('docker-compose.yml runs the demo services from the gateway image', () => {
  const nodeServices = Object.entries(services).filter(([, service]) => service.command !== undefined)

  it('runs every commanded service from the image the gateway builds', () => {
    expect(nodeServices.length).toBeGreaterThan(0)
    for (const [name, service] of nodeServices) {
      expect(service.image, name).toBe(gateway?.image)
    }
  })
})

describe('docker-compose.yml provides Redis', () => {
  const redis = services.redis

  it('runs Redis 7 with a redis-cli ping health check and no published port', () => {
    expect(redis?.image).toMatch(/^redis:7/)
    expect(healthcheckCommand(redis ?? {})).toMatch(/redis-cli\s+ping/)
    expect(redis?.ports ?? []).toEqual([])
  })

  it('hands every gateway a Redis URL naming that service, which it waits for', () => {
    for (const [name, service] of gateways) {
      expect(new URL(environmentOf(service).get('REDIS_URL') ?? 'invalid:').hostname, name).toBe('redis')
      expect(dependencyConditions(service).get('redis'), name).toBe('service_healthy')
    }
  })
})

describe('docker-compose.yml gateways share one Redis and behave as one', () => {
  it('gives every gateway the same environment: upstreams, token secret, Redis URL and stores', () => {
    const [first, ...others] = gateways.map(([, service]) => Object.fromEntries(environmentOf(service)))
    expect(first).toMatchObject({ GATEHOUSE_RATE_LIMIT_STORE: 'redis', GATEHOUSE_CACHE_STORE: 'redis' })
    for (const env of others) expect(env).toEqual(first)
  })

  it('sets every variable services.json uses without a default (the token secret)', () => {
    const required = placeholdersIn(readText('services.json')).filter((placeholder) => placeholder.fallback === undefined)
    expect(required.map((placeholder) => placeholder.name)).toContain('GATEHOUSE_JWT_SECRET')
    for (const [name, service] of gateways) {
      const composed = composedEnvOf(environmentOf(service))
      for (const placeholder of required) expect(composed[placeholder.name], `${name}.environment.${placeholder.name}`).toBeTruthy()
    }
  })

  it.each(gatewayNames)('loads services.json with %s\'s environment: auth on, limits and cache in the compose Redis', async (name) => {
    const config = await loadConfig(join(ROOT, 'services.json'), composedEnvOf(environmentOf(services[name] ?? {})))
    expect(config.rateLimit.store).toBe('redis')
    expect(config.cache.store).toBe('redis')
    expect(new URL(config.redis?.url ?? 'invalid:').hostname).toBe('redis')
    expect(Object.keys(services)).toContain('redis')
    expect(config.services.every((service) => service.auth !== null)).toBe(true)
  })
})

describe('docker-compose.yml passes the Compose CLI', () => {
  const cli = findComposeCli()

  it('is accepted by `config -q`', (context) => {
    if (cli === undefined) {
      context.skip('neither `docker compose` nor `docker-compose` is installed; the offline checks above still ran')
      return
    }
    const [command = '', ...args] = cli
    const result = spawnSync(command, [...args, '-f', 'docker-compose.yml', 'config', '-q'], {
      cwd: ROOT, encoding: 'utf8', timeout: 30_000
    })
    expect(result.status, result.stderr).toBe(0)
  })
})
