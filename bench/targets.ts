/**
 * The servers behind the bench targets, each started only when a chosen target needs it. Some processes
 * serve several targets (loaded one after the other, never together), so the targets differ only in what
 * the requests ask for.
 */
import { benchCertificate } from './certificate.js'
import { startChild, type BenchChild } from './children.js'
import type { CpuAffinity } from './cpu-affinity.js'
import type { BenchLifecycle } from './lifecycle.js'
import { TARGET_NAMES, type Target, type TargetName } from './measure.js'
import { NGINX_MISSING, startNginx } from './nginx.js'
import { sparePorts } from './ports.js'
import { packageRoot } from './report-file.js'
import { benchToken } from './token.js'
import { GATEWAY_NODE_OPTIONS } from '../src/node-options.js'

const GATEWAY_SCRIPT = 'gateway.js'

export interface StartedTargets {
  /** In TARGET_NAMES order, direct first. */
  readonly targets: readonly Target[]
  /** Targets that were chosen but could not run, and why (nginx not installed). */
  readonly notes: readonly string[]
}

type ProxyName = Exclude<TargetName, 'direct'>

interface ServerContext {
  readonly backend: BenchChild
  /** The backend's extra listeners, for the pool target; empty unless it was chosen. */
  readonly replicaUrls: readonly string[]
  readonly lifecycle: BenchLifecycle
  /** Where the proxies and the backend run; undefined: unpinned. */
  readonly affinity: CpuAffinity | undefined
  readonly notes: string[]
  /** Starts a Node proxy (bench script) in front of the backend; its target's base URL is <url>/api. */
  proxy (name: ProxyName, script: string, env: Record<string, string>, headers?: Record<string, string>): Promise<Target>
}

/** A process the bench may start and the targets it serves. */
interface TargetServer {
  readonly serves: readonly ProxyName[]
  start (context: ServerContext): Promise<Target[]>
}

const GZIP = { 'accept-encoding': 'gzip' }
const QUIET = { GATEHOUSE_LOG_LEVEL: 'warn' }

const SERVERS: readonly TargetServer[] = [
  { serves: ['baseline'], start: async (c) => [await c.proxy('baseline', 'baseline.js', { BASELINE_LOGGER: '0' })] },
  { serves: ['baseline+log'], start: async (c) => [await c.proxy('baseline+log', 'baseline.js', { BASELINE_LOGGER: '1' })] },
  { serves: ['nginx', 'nginx-cache'], start: nginxTargets },
  { serves: ['gatehouse'], start: async (c) => [await c.proxy('gatehouse', GATEWAY_SCRIPT, { GATEHOUSE_LOG_LEVEL: 'info' })] },
  { serves: ['gatehouse-quiet'], start: async (c) => [await c.proxy('gatehouse-quiet', GATEWAY_SCRIPT, QUIET)] },
  { serves: ['gatehouse-full'], start: async (c) => [await fullStack(c)] },
  { serves: ['gatehouse-https'], start: async (c) => [await https(c)] },
  {
    serves: ['gatehouse-pool'],
    start: async (c) => [await c.proxy('gatehouse-pool', GATEWAY_SCRIPT, { ...QUIET, GATEHOUSE_BENCH_REPLICAS: c.replicaUrls.join(',') })]
  },
  {
    // One process for both: the only difference is the header (separate processes differ by a few %, and
    // streaming gzip of the large body leaves its process slower for a while after).
    serves: ['gatehouse-plain', 'gatehouse-gzip'],
    start: async (c) => {
      const plain = await c.proxy('gatehouse-plain', GATEWAY_SCRIPT, QUIET)
      return [plain, { ...plain, name: 'gatehouse-gzip', headers: GZIP }]
    }
  },
  {
    serves: ['gatehouse-cached', 'gatehouse-cached-gzip', 'gatehouse-cached-miss'],
    start: async (c) => cachedTargets(await c.proxy('gatehouse-cached', GATEWAY_SCRIPT, { ...QUIET, GATEHOUSE_BENCH_CACHE: '1' }))
  }
]

/** Starts the backend and every server a chosen target needs. */
export async function startTargets (chosen: readonly TargetName[], lifecycle: BenchLifecycle, affinity?: CpuAffinity): Promise<StartedTargets> {
  const wanted = new Set(chosen)
  // The pool target's two more replicas are more listeners of the same backend process.
  const replicaPorts = wanted.has('gatehouse-pool') ? await sparePorts(2) : []
  const backend = await startChild({
    name: 'backend',
    script: 'backend.js',
    env: { BACKEND_REPLICA_PORTS: replicaPorts.join(',') },
    ...(affinity === undefined ? {} : { cpus: affinity.support })
  }, lifecycle.track)
  const backendUrl = withoutTrailingSlash(backend.url)
  const context: ServerContext = {
    backend,
    replicaUrls: replicaPorts.map((port) => `http://127.0.0.1:${port}`),
    lifecycle,
    affinity,
    notes: [],
    async proxy (name, script, env, headers) {
      // Gatehouse runs as it is deployed (src/node-options.ts); the hand-written baseline with Node's defaults.
      const nodeOptions = script === GATEWAY_SCRIPT ? GATEWAY_NODE_OPTIONS : []
      const cpus = affinity === undefined ? {} : { cpus: affinity.target }
      const child = await startChild({ name, script, env: { BACKEND_URL: backendUrl, ...env }, nodeOptions, ...cpus }, lifecycle.track)
      return { name, child, baseUrl: `${withoutTrailingSlash(child.url)}/api`, ...(headers === undefined ? {} : { headers }) }
    }
  }
  const targets: Target[] = [{ name: 'direct', child: backend, baseUrl: backendUrl }]
  for (const server of SERVERS) {
    if (!server.serves.some((name) => wanted.has(name))) continue
    targets.push(...(await server.start(context)).filter((target) => wanted.has(target.name)))
  }
  targets.sort((a, b) => TARGET_NAMES.indexOf(a.name) - TARGET_NAMES.indexOf(b.name))
  return { targets, notes: context.notes }
}

/**
 * Auth + both rate-limit tiers + compression negotiation, on a cache miss: the bearer token the runner mints,
 * and Accept-Encoding: gzip (the small body is under the threshold and passes through; the large one is
 * gzipped as it streams).
 */
async function fullStack (context: ServerContext): Promise<Target> {
  const token = await benchToken()
  return context.proxy('gatehouse-full', GATEWAY_SCRIPT, { ...QUIET, GATEHOUSE_BENCH_STACK: 'full', GATEHOUSE_BENCH_SECRET: token.secret },
    { authorization: `Bearer ${token.token}`, ...GZIP })
}

async function https (context: ServerContext): Promise<Target> {
  const certificate = await benchCertificate(packageRoot())
  context.lifecycle.removeOnRelease(() => certificate.remove())
  return { ...await context.proxy('gatehouse-https', GATEWAY_SCRIPT, { ...QUIET, GATEHOUSE_BENCH_TLS_DIR: certificate.dir }), ca: certificate.ca }
}

/**
 * One caching gateway serves every cache target: hits on /cached/*, and misses on the backend's uncacheable
 * paths (every request goes through the cache's lookup, policy and store decision, then upstream).
 */
function cachedTargets (cached: Target): Target[] {
  const baseUrl = `${cached.baseUrl}/cached`
  return [
    { ...cached, baseUrl, cacheHits: true },
    { ...cached, name: 'gatehouse-cached-gzip', baseUrl, headers: GZIP, cacheHits: true },
    { ...cached, name: 'gatehouse-cached-miss' }
  ]
}

/** One nginx process for both: /api/ proxies, /api/cached/ proxies through proxy_cache. */
async function nginxTargets (context: ServerContext): Promise<Target[]> {
  const nginx = await startNginx(context.backend.url, context.lifecycle, context.affinity?.target)
  if (nginx === undefined) {
    context.notes.push(NGINX_MISSING)
    return []
  }
  const baseUrl = `${nginx.url}/api`
  return [
    { name: 'nginx', child: nginx, baseUrl },
    { name: 'nginx-cache', child: nginx, baseUrl: `${baseUrl}/cached`, cacheHits: true }
  ]
}

function withoutTrailingSlash (url: string): string {
  return url.replace(/\/+$/, '')
}
