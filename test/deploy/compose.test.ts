import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { loadConfig } from '../../src/config/load.js'
import { describe, it, expect } from 'vitest'
import {
  ROOT, dependencyConditions, dockerfileInstructions, environmentOf, execForm, exposedPorts, findComposeCli,
  healthcheckCommand, mountsOf, placeholdersIn, readCompose, readServicesFile, readText, upstreamPlaceholders
} from './deploy-files.js'

const services = readCompose()
const gateway = services.gateway
const gatewayEnv = gateway === undefined ? new Map<string, string>() : environmentOf(gateway)

function configPathOfDockerCmd (): string | undefined {
  const cmd = dockerfileInstructions().filter((instruction) => instruction.keyword === 'CMD').at(-1)
  const argv = cmd === undefined ? [] : execForm(cmd.args)
  const at = argv.indexOf('--config')
  return at === -1 ? undefined : argv[at + 1]
}

describe('docker-compose.yml publishes only the gateway', () => {
  it('has a gateway service built from this directory', () => {
    expect(gateway).toBeDefined()
    expect(gateway?.build).toBeDefined()
  })

  it('publishes a port on the gateway and on no other service', () => {
    const publishing = Object.entries(services).filter(([, service]) => (service.ports ?? []).length > 0).map(([name]) => name)
    expect(publishing).toEqual(['gateway'])
  })

  it('publishes the port the gateway listens on inside the container', () => {
    const placeholder = placeholdersIn(String(readServicesFile().gateway?.listen?.port ?? '')).at(0)
    const listenPort = gatewayEnv.get(placeholder?.name ?? '') ?? placeholder?.fallback
    const containerPorts = (gateway?.ports ?? []).map((port) =>
      typeof port === 'object' ? String(port.target) : String(port).split(':').at(-1)?.split('/')[0])
    expect(containerPorts).toContain(listenPort)
  })

  it('makes the gateway listen on every interface so the published port reaches it', () => {
    expect(gatewayEnv.get('GATEHOUSE_HOST')).toBe('0.0.0.0')
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

    it('is a service the gateway waits for until it is healthy', () => {
      expect(dependencyConditions(gateway ?? {}).get(url.hostname)).toBe('service_healthy')
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

  it('hands the gateway a Redis URL naming that service', () => {
    expect(new URL(gatewayEnv.get('REDIS_URL') ?? 'invalid:').hostname).toBe('redis')
    expect(dependencyConditions(gateway ?? {}).get('redis')).toBe('service_healthy')
  })
})

describe('docker-compose.yml gives the gateway what services.json needs', () => {
  // Compose interpolates `${VAR:-fallback}` in its own file first: a demo user without the variable gets the fallback.
  const composed = new Map([...gatewayEnv].map(([name, value]) => [name, value.replace(/\$\{[A-Za-z_][A-Za-z0-9_]*:-([^}]*)\}/g, '$1')]))

  it('sets every variable services.json uses without a default (the token secret)', () => {
    const required = placeholdersIn(readText('services.json')).filter((placeholder) => placeholder.fallback === undefined)
    expect(required.map((placeholder) => placeholder.name)).toContain('GATEHOUSE_JWT_SECRET')
    for (const { name } of required) expect(composed.get(name), `gateway.environment.${name}`).toBeTruthy()
  })

  it('loads services.json with the gateway\'s environment: auth on, rate limits counted in the compose Redis', async () => {
    const config = await loadConfig(join(ROOT, 'services.json'), Object.fromEntries(composed))
    expect(config.rateLimit.store).toBe('redis')
    expect(new URL(config.redis?.url ?? 'invalid:').hostname).toBe('redis')
    expect(Object.keys(services)).toContain('redis')
    expect(config.services.every((service) => service.auth !== null)).toBe(true)
  })
})

describe('docker-compose.yml mounts services.json where the image reads it', () => {
  it('binds ./services.json read-only at the path the Dockerfile CMD passes to --config', () => {
    const configPath = configPathOfDockerCmd()
    expect(configPath).toBeDefined()
    const mount = mountsOf(gateway ?? {}).find((entry) => entry.target === configPath)
    expect(mount, `no volume mounted at ${configPath}`).toBeDefined()
    expect(mount?.source).toMatch(/^(\.\/)?services\.json$/)
    expect(mount?.readOnly).toBe(true)
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
