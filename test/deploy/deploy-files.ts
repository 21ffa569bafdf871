/** Reads the deployment files (Dockerfile, docker-compose.yml, deploy/kubernetes) once, shapes them for assertions, and finds the Compose CLI if one is installed. */
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse, parseAllDocuments } from 'yaml'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))

export function readText (relativePath: string): string {
  return readFileSync(join(ROOT, relativePath), 'utf8')
}

export interface ComposeService {
  readonly image?: string
  readonly build?: unknown
  readonly command?: string | readonly string[]
  readonly environment?: Readonly<Record<string, string | number | null>> | readonly string[]
  readonly ports?: ReadonlyArray<string | number | { target?: number, published?: string | number }>
  readonly expose?: ReadonlyArray<string | number>
  readonly volumes?: ReadonlyArray<string | { type?: string, source?: string, target?: string, read_only?: boolean }>
  readonly depends_on?: readonly string[] | Readonly<Record<string, { condition?: string }>>
  readonly healthcheck?: { test?: string | readonly string[], disable?: boolean }
}

export function readCompose (): Readonly<Record<string, ComposeService>> {
  // `merge` resolves the `<<: *demo-service` keys the way Compose does.
  const document = parse(readText('docker-compose.yml'), { merge: true }) as { services?: Record<string, ComposeService> }
  return document.services ?? {}
}

/** Services that run the gateway: the gateway's image with the image's own CMD (the demo services name a command). */
export function gatewayServices (services: Readonly<Record<string, ComposeService>>): Array<[string, ComposeService]> {
  const image = services.gateway?.image
  return Object.entries(services).filter(([, service]) => image !== undefined && service.image === image && service.command === undefined)
}

/** Published ports as `{ host, container }`: `"8080:8080"`, `"127.0.0.1:8080:8080/tcp"`, `"8080"` and long syntax. */
export function portMappings (service: ComposeService): Array<{ host: string | undefined, container: string }> {
  return (service.ports ?? []).map((port) => {
    if (typeof port === 'object') return { host: port.published === undefined ? undefined : String(port.published), container: String(port.target) }
    const parts = String(port).split('/')[0]?.split(':') ?? []
    return { host: parts.length > 1 ? parts.at(-2) : undefined, container: parts.at(-1) ?? '' }
  })
}

/** Both Compose spellings of environment (map or `KEY=value` list) as one map. */
export function environmentOf (service: ComposeService): Map<string, string> {
  const env = new Map<string, string>()
  if (Array.isArray(service.environment)) {
    for (const entry of service.environment as readonly string[]) {
      const at = entry.indexOf('=')
      if (at > 0) env.set(entry.slice(0, at), entry.slice(at + 1))
    }
  } else {
    for (const [key, value] of Object.entries(service.environment ?? {})) env.set(key, value === null ? '' : String(value))
  }
  return env
}

/** Container ports from `expose`, `"3002"` and `"3002/tcp"` alike. */
export function exposedPorts (service: ComposeService): number[] {
  return (service.expose ?? []).map((entry) => Number(String(entry).split('/')[0]))
}

export function healthcheckCommand (service: ComposeService): string {
  const test = service.healthcheck?.test
  return typeof test === 'string' ? test : (test ?? []).join(' ')
}

/** `{ target, source, readOnly }` for short (`./a:/b:ro`) and long volume syntax. */
export function mountsOf (service: ComposeService): Array<{ source: string, target: string, readOnly: boolean }> {
  return (service.volumes ?? []).map((volume) => {
    if (typeof volume !== 'string') {
      return { source: volume.source ?? '', target: volume.target ?? '', readOnly: volume.read_only === true }
    }
    const [source = '', target = '', mode = ''] = volume.split(':')
    return { source, target, readOnly: mode.split(',').includes('ro') }
  })
}

export function dependencyConditions (service: ComposeService): Map<string, string | undefined> {
  const dependsOn = service.depends_on ?? {}
  if (Array.isArray(dependsOn)) return new Map((dependsOn as readonly string[]).map((name) => [name, undefined]))
  return new Map(Object.entries(dependsOn).map(([name, entry]) => [name, entry.condition]))
}

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g

export interface Placeholder {
  readonly name: string
  readonly fallback: string | undefined
}

export function placeholdersIn (text: string): Placeholder[] {
  return [...text.matchAll(PLACEHOLDER)].map((match) => ({ name: match[1] ?? '', fallback: match[2] }))
}

interface ServicesFile {
  gateway?: { listen?: { host?: string, port?: string | number } }
  services: Array<{ name: string, prefix?: string, upstreams: Array<string | { url: string }> }>
}

export function readServicesFile (): ServicesFile {
  return JSON.parse(readText('services.json')) as ServicesFile
}

export function upstreamPlaceholders (): Placeholder[] {
  return readServicesFile().services
    .flatMap((service) => service.upstreams)
    .flatMap((upstream) => placeholdersIn(typeof upstream === 'string' ? upstream : upstream.url))
}

/** The Dockerfile's instructions, continuation lines joined, comments dropped. */
export function dockerfileInstructions (): Array<{ keyword: string, args: string }> {
  return readText('Dockerfile')
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [keyword = '', ...rest] = line.split(/\s+/)
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') }
    })
}

/** An exec-form (`["a", "b"]`) instruction's arguments; shell form split on whitespace. */
export function execForm (args: string): string[] {
  const trimmed = args.trim()
  if (trimmed.startsWith('[')) return JSON.parse(trimmed) as string[]
  return trimmed.split(/\s+/)
}

/** The runtime stage's CMD as an argument vector: what the image runs when nothing overrides it. */
export function dockerCmd (): string[] {
  const cmd = dockerfileInstructions().filter((instruction) => instruction.keyword === 'CMD').at(-1)
  return cmd === undefined ? [] : execForm(cmd.args)
}

/**
 * The Compose CLI that can validate a file offline (`config -q` needs no engine): the v2 plugin
 * (`docker compose`) or the standalone v1 (`docker-compose`). Undefined when neither runs.
 */
export function findComposeCli (): readonly string[] | undefined {
  const candidates: ReadonlyArray<readonly string[]> = [['docker', 'compose'], ['docker-compose']]
  return candidates.find(([command = '', ...args]) =>
    spawnSync(command, [...args, 'version'], { stdio: 'ignore', timeout: 15_000 }).status === 0)
}

export const KUBERNETES_DIR = 'deploy/kubernetes'

/** A YAML file of deploy/kubernetes with every document in it (`---` separated), as plain values. */
export interface ManifestFile {
  readonly file: string
  readonly errors: readonly string[]
  readonly documents: readonly unknown[]
}

export function readKubernetesFiles (): ManifestFile[] {
  return readdirSync(join(ROOT, KUBERNETES_DIR))
    .filter((file) => /\.ya?ml$/.test(file))
    .sort()
    .map((file) => {
      const documents = parseAllDocuments(readText(join(KUBERNETES_DIR, file)))
      const all = Array.isArray(documents) ? documents : []
      return {
        file,
        errors: all.flatMap((document) => document.errors.map((error) => error.message)),
        documents: all.map((document) => document.toJS() as unknown).filter((value) => value !== null && value !== undefined)
      }
    })
}
