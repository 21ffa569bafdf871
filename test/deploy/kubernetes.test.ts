/** deploy/kubernetes against the gateway: what the manifests promise is what the image, the config and the code do. */
import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/load.js'
import { startGateway } from '../../src/server.js'
import { ROOT, KUBERNETES_DIR, dockerCmd, placeholdersIn, readKubernetesFiles, readServicesFile } from './deploy-files.js'

interface Resource {
  readonly apiVersion?: string
  readonly kind?: string
  readonly metadata?: { readonly name?: string, readonly labels?: Readonly<Record<string, string>> }
  readonly spec?: unknown
  readonly data?: Readonly<Record<string, string>>
  readonly stringData?: Readonly<Record<string, string>>
}
type Labels = Readonly<Record<string, string>>
interface Probe { readonly httpGet?: { readonly path?: string, readonly port?: string | number } }
interface EnvVar { readonly name: string, readonly value?: string, readonly valueFrom?: { readonly secretKeyRef?: { readonly name: string, readonly key: string } } }
interface Container {
  readonly image?: string
  readonly command?: readonly string[]
  readonly args?: readonly string[]
  readonly ports?: ReadonlyArray<{ readonly name?: string, readonly containerPort: number }>
  readonly env?: readonly EnvVar[]
  readonly readinessProbe?: Probe
  readonly livenessProbe?: Probe
  readonly lifecycle?: { readonly preStop?: { readonly exec?: { readonly command?: readonly string[] }, readonly sleep?: { readonly seconds?: number } } }
  readonly resources?: { readonly requests?: Labels, readonly limits?: Labels }
  readonly securityContext?: { readonly readOnlyRootFilesystem?: boolean, readonly allowPrivilegeEscalation?: boolean }
  readonly volumeMounts?: ReadonlyArray<{ readonly name: string, readonly mountPath: string, readonly subPath?: string, readonly readOnly?: boolean }>
}
interface PodTemplate {
  readonly metadata?: { readonly labels?: Labels }
  readonly spec: {
    readonly containers: readonly Container[]
    readonly volumes?: ReadonlyArray<{ readonly name: string, readonly configMap?: { readonly name: string } }>
    readonly securityContext?: { readonly runAsNonRoot?: boolean, readonly runAsUser?: number }
    readonly terminationGracePeriodSeconds?: number
    readonly enableServiceLinks?: boolean
  }
}
interface DeploymentSpec {
  readonly replicas?: number
  readonly selector?: { readonly matchLabels?: Labels }
  readonly strategy?: { readonly type?: string, readonly rollingUpdate?: { readonly maxUnavailable?: number | string } }
  readonly template: PodTemplate
}
interface ServiceSpec { readonly type?: string, readonly selector?: Labels, readonly ports?: ReadonlyArray<{ readonly port: number, readonly targetPort?: string | number }> }
interface HpaSpec {
  readonly scaleTargetRef?: { readonly apiVersion?: string, readonly kind?: string, readonly name?: string }
  readonly minReplicas?: number
  readonly maxReplicas?: number
  readonly metrics?: ReadonlyArray<{ readonly resource?: { readonly name?: string, readonly target?: { readonly averageUtilization?: number } } }>
}
interface PdbSpec { readonly minAvailable?: number, readonly selector?: { readonly matchLabels?: Labels } }

const files = readKubernetesFiles()
const manifests = files.filter((entry) => entry.file !== 'kustomization.yaml')
const resources = manifests.flatMap((entry) => entry.documents as Resource[])

function all (kind: string): Resource[] {
  return resources.filter((resource) => resource.kind === kind)
}
function one (kind: string, name: string): Resource {
  const found = all(kind).find((resource) => resource.metadata?.name === name)
  if (found === undefined) throw new Error(`${KUBERNETES_DIR} has no ${kind} named ${name}`)
  return found
}
function specOf<Spec> (resource: Resource): Spec {
  return resource.spec as Spec
}
function selects (selector: Labels | undefined, labels: Labels | undefined): boolean {
  const wanted = Object.entries(selector ?? {})
  return wanted.length > 0 && wanted.every(([key, value]) => labels?.[key] === value)
}

const gateway = specOf<DeploymentSpec>(one('Deployment', 'gatehouse'))
const pod = gateway.template.spec
const container = pod.containers[0] ?? {}
const containerPort = container.ports?.[0]?.containerPort
const redisService = one('Service', 'gatehouse-redis')
const jwtRef = container.env?.find((variable) => variable.name === 'GATEHOUSE_JWT_SECRET')?.valueFrom?.secretKeyRef

/** The environment the Deployment gives the container; a Secret's value is a stand-in of the right size. */
function deploymentEnv (secret = 'k'.repeat(48)): Record<string, string> {
  return Object.fromEntries((container.env ?? []).map((variable) => [variable.name, variable.value ?? secret]))
}
function servicesJsonText (): string {
  return one('ConfigMap', 'gatehouse-config').data?.['services.json'] ?? ''
}
/** The ConfigMap's services.json through the real loader; its plugin paths resolve against /app, laid out as the repository root. */
async function clusterConfig (env: Record<string, string> = deploymentEnv()): ReturnType<typeof parseConfig> {
  return await parseConfig(JSON.parse(servicesJsonText()), { baseDir: ROOT, env })
}

describe('deploy/kubernetes is a set of valid manifests', () => {
  it('parses every file as YAML', () => {
    expect(files.length).toBeGreaterThan(1)
    for (const { file, errors } of files) expect(errors, file).toEqual([])
  })

  it('gives every resource an apiVersion, a kind and a name, each kind and name once', () => {
    for (const resource of resources) {
      expect(resource.apiVersion, JSON.stringify(resource)).toBeTruthy()
      expect(resource.kind, JSON.stringify(resource)).toBeTruthy()
      expect(resource.metadata?.name, JSON.stringify(resource)).toBeTruthy()
    }
    const ids = resources.map((resource) => `${resource.kind ?? ''}/${resource.metadata?.name ?? ''}`)
    expect(new Set(ids).size).toBe(ids.length)
  })

  it('lists exactly the manifests of the folder in kustomization.yaml', () => {
    const kustomization = files.find((entry) => entry.file === 'kustomization.yaml')?.documents[0] as { resources?: string[] } | undefined
    expect([...(kustomization?.resources ?? [])].sort()).toEqual(manifests.map((entry) => entry.file))
  })

  it('pins every image to a tag, never latest', () => {
    const images = all('Deployment').flatMap((resource) => specOf<DeploymentSpec>(resource).template.spec.containers.map((entry) => entry.image ?? ''))
    expect(images).toEqual(expect.arrayContaining(['gatehouse:local', expect.stringMatching(/^redis:7/)]))
    for (const image of images) expect(image, image).toMatch(/^[^@]+:(?!latest$)[\w.-]+$/)
  })

  it('selects its own pods in every Deployment', () => {
    for (const resource of all('Deployment')) {
      const spec = specOf<DeploymentSpec>(resource)
      expect(selects(spec.selector?.matchLabels, spec.template.metadata?.labels), resource.metadata?.name).toBe(true)
    }
  })

  it('builds with `kubectl kustomize`', (context) => {
    const result = spawnSync('kubectl', ['kustomize', KUBERNETES_DIR], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 })
    if (result.error !== undefined) return context.skip('kubectl is not installed; the offline checks still ran')
    expect(result.status, result.stderr).toBe(0)
    expect(result.stdout.match(/^kind: /gm)).toHaveLength(resources.length)
  })
})

describe('the gateway Deployment runs the image as the Dockerfile does', () => {
  it('passes the Dockerfile CMD as args (Docker\'s CMD), keeping the image\'s entrypoint', () => {
    expect(container.command).toBeUndefined()
    expect(container.args).toEqual(dockerCmd())
  })

  it('mounts the ConfigMap\'s services.json read-only at the path the CMD passes to --config', () => {
    const cmd = dockerCmd()
    const mount = container.volumeMounts?.find((entry) => entry.mountPath === cmd[cmd.indexOf('--config') + 1])
    expect(mount).toMatchObject({ subPath: 'services.json', readOnly: true })
    expect(pod.volumes?.find((volume) => volume.name === mount?.name)?.configMap?.name).toBe('gatehouse-config')
  })

  it('runs as a non-root numeric user with a read-only root filesystem and no privilege escalation', () => {
    expect(pod.securityContext?.runAsNonRoot).toBe(true)
    // The Dockerfile's USER is a name (`node`); the kubelet can only check runAsNonRoot against a number.
    expect(pod.securityContext?.runAsUser).toBeGreaterThan(0)
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false })
  })

  it('requests the CPU the autoscaler measures against, and sets limits', () => {
    expect(container.resources?.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) })
    expect(container.resources?.limits).toMatchObject({ memory: expect.any(String) })
  })

  it('turns off service links: the `gatehouse` Service would set GATEHOUSE_PORT=tcp://…, which services.json listens on', () => {
    expect(placeholdersIn(servicesJsonText()).map((placeholder) => placeholder.name)).toContain('GATEHOUSE_PORT')
    expect(pod.enableServiceLinks).toBe(false)
  })
})

describe('the gateway Deployment probes paths the gateway serves', () => {
  const portOf = (probe: Probe | undefined): number | undefined => {
    const port = probe?.httpGet?.port
    return typeof port === 'number' ? port : container.ports?.find((entry) => entry.name === port)?.containerPort
  }

  it('probes readiness on <adminPrefix>/readyz and liveness on <adminPrefix>/healthz, on the container port', async () => {
    const { adminPrefix } = await clusterConfig()
    expect(container.readinessProbe?.httpGet?.path).toBe(`${adminPrefix}/readyz`)
    expect(container.livenessProbe?.httpGet?.path).toBe(`${adminPrefix}/healthz`)
    expect(portOf(container.readinessProbe)).toBe(containerPort)
    expect(portOf(container.livenessProbe)).toBe(containerPort)
  })

  it('gets 200 from both probe paths of a gateway started from the ConfigMap, with Redis unreachable', async () => {
    // Readiness must not follow Redis: a Redis restart would otherwise empty the Service of every gateway.
    const config = await clusterConfig({ ...deploymentEnv(), REDIS_URL: 'redis://127.0.0.1:1' })
    const running = await startGateway(config, { host: '127.0.0.1', port: 0 }, { logger: false })
    try {
      for (const probe of [container.readinessProbe, container.livenessProbe]) {
        expect((await fetch(`${running.url}${probe?.httpGet?.path ?? ''}`)).status, probe?.httpGet?.path).toBe(200)
      }
    } finally {
      await running.close()
    }
  })
})

describe('the gateway Deployment stops gracefully', () => {
  it('sleeps in preStop, then has longer than the drain timeout to finish before it is killed', async () => {
    const preStop = container.lifecycle?.preStop
    const exec = preStop?.exec?.command ?? []
    const sleep = preStop?.sleep?.seconds ?? (exec[0] === 'sleep' ? Number(exec[1]) : Number.NaN)
    expect(sleep).toBeGreaterThan(0)
    const drainSeconds = (await clusterConfig()).timeouts.drain / 1000
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(sleep + drainSeconds)
  })

  it('rolls out without taking a replica away first', () => {
    expect(gateway.strategy?.type ?? 'RollingUpdate').toBe('RollingUpdate')
    expect(gateway.strategy?.rollingUpdate?.maxUnavailable).toBe(0)
  })
})

describe('the ConfigMap\'s services.json', () => {
  it('loads with the Deployment\'s environment: listening on the container port, limits and cache in the Redis Service', async () => {
    const config = await clusterConfig()
    expect(config.listen).toEqual({ host: '0.0.0.0', port: containerPort })
    expect(config.rateLimit.store).toBe('redis')
    expect(config.cache.store).toBe('redis')
    const redisUrl = new URL(config.redis?.url ?? 'invalid:')
    expect(redisUrl.hostname).toBe(redisService.metadata?.name)
    expect(specOf<ServiceSpec>(redisService).ports?.map((port) => String(port.port))).toContain(redisUrl.port)
    expect(config.services.every((service) => service.auth !== null)).toBe(true)
  })

  it('has a default or a Deployment variable for every placeholder', () => {
    const set = new Set((container.env ?? []).map((variable) => variable.name))
    const missing = placeholdersIn(servicesJsonText()).filter((placeholder) => placeholder.fallback === undefined && !set.has(placeholder.name))
    expect(missing).toEqual([])
  })

  it('routes the services of the repository\'s services.json', async () => {
    const routes = (await clusterConfig()).services.map((service) => [service.name, service.prefix])
    expect(routes).toEqual(readServicesFile().services.map((service) => [service.name, service.prefix]))
  })

  it('refuses the Secret\'s placeholder, so a forgotten secret stops the rollout', async () => {
    const placeholder = jwtRef === undefined ? undefined : one('Secret', jwtRef.name).stringData?.[jwtRef.key]
    expect(placeholder).toBeDefined()
    const error = await clusterConfig(deploymentEnv(placeholder)).catch((caught: unknown) => caught)
    expect(error).toMatchObject({ problems: [{ path: 'gateway.auth.secrets[0].secret' }] })
  })
})

describe('the manifests refer to each other', () => {
  const gatewayLabels = gateway.template.metadata?.labels
  const otherPods = all('Deployment').filter((resource) => resource.metadata?.name !== 'gatehouse')
    .map((resource) => specOf<DeploymentSpec>(resource).template.metadata?.labels)

  it('takes the token secret from a key of a Secret in this folder', () => {
    expect(jwtRef).toBeDefined()
    expect(Object.keys(one('Secret', jwtRef?.name ?? '').stringData ?? {})).toContain(jwtRef?.key)
  })

  it('sends the Service\'s port 80 to the gateway pods\' container port, and no other pods', () => {
    const service = specOf<ServiceSpec>(one('Service', 'gatehouse'))
    expect(service.type ?? 'ClusterIP').toBe('ClusterIP')
    expect(selects(service.selector, gatewayLabels)).toBe(true)
    for (const labels of otherPods) expect(selects(service.selector, labels)).toBe(false)
    const [port] = service.ports ?? []
    expect(port?.port).toBe(80)
    const target = typeof port?.targetPort === 'number' ? port.targetPort : container.ports?.find((entry) => entry.name === port?.targetPort)?.containerPort
    expect(target).toBe(containerPort)
  })

  it('autoscales the gateway Deployment from 2 to 10 replicas at 70% CPU, starting inside that range', () => {
    const hpa = specOf<HpaSpec>(one('HorizontalPodAutoscaler', 'gatehouse'))
    expect(one('HorizontalPodAutoscaler', 'gatehouse').apiVersion).toBe('autoscaling/v2')
    expect(hpa.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'gatehouse' })
    expect([hpa.minReplicas, hpa.maxReplicas]).toEqual([2, 10])
    expect(hpa.metrics?.map((metric) => [metric.resource?.name, metric.resource?.target?.averageUtilization])).toEqual([['cpu', 70]])
    expect(gateway.replicas).toBeGreaterThanOrEqual(hpa.minReplicas ?? 1)
  })

  it('keeps one gateway up during disruptions, and leaves room for an eviction at the autoscaler\'s minimum', () => {
    const pdb = specOf<PdbSpec>(one('PodDisruptionBudget', 'gatehouse'))
    expect(pdb.minAvailable).toBe(1)
    expect(selects(pdb.selector?.matchLabels, gatewayLabels)).toBe(true)
    expect(specOf<HpaSpec>(one('HorizontalPodAutoscaler', 'gatehouse')).minReplicas).toBeGreaterThan(pdb.minAvailable ?? 0)
  })

  it('points REDIS_URL at the Redis Service, which selects Redis pods that keep nothing on disk', () => {
    const url = new URL(container.env?.find((variable) => variable.name === 'REDIS_URL')?.value ?? 'invalid:')
    expect(url.hostname).toBe(redisService.metadata?.name)
    const redis = specOf<DeploymentSpec>(one('Deployment', 'gatehouse-redis'))
    expect(selects(specOf<ServiceSpec>(redisService).selector, redis.template.metadata?.labels)).toBe(true)
    const args = redis.template.spec.containers[0]?.args ?? []
    const option = (name: string): string | undefined => args.includes(name) ? args[args.indexOf(name) + 1] : undefined
    expect([option('--save'), option('--appendonly')]).toEqual(['', 'no'])
  })
})
