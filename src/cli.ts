/**
 * `gatehouse start|check|token`, `--help`, `--version`. Exit codes: 0 ok, 1 runtime failure, 2 usage or invalid
 * config. No business logic here: it parses arguments and hands over to loadConfig / startGateway, or with
 * `--workers` to the cluster primary (src/cluster/primary.ts), whose workers run this same start path.
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { loadConfig } from './config/load.js'
import type { GatewayConfig } from './config/types.js'
import { mintDevToken } from './auth/dev-token.js'
import { checkConfigFile, configOf } from './cluster/config-snapshot.js'
import { runPrimary, type PrimaryOutcome } from './cluster/primary.js'
import {
  announceReady, configFromPrimary, ignoreRepeatedStops, isForeignClusterWorker, isGatehouseWorker, leaveCluster, leaveHangupsToPrimary,
  stopTakingConnections
} from './cluster/worker.js'
import { parseWorkerCount } from './cluster/worker-count.js'
import { ConfigInvalidError } from './errors.js'
import { buildGateway } from './gateway.js'
import { routingTable } from './routing-table.js'
import { reloadOnHangupAndChange } from './reload/triggers.js'
import { applyGatewayV8Flags } from './node-options.js'
import { shutdownSignal, startGateway, type ListenOverrides, type RunningGateway } from './server.js'

export const EXIT_OK = 0
export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2

const USAGE = `Usage: gatehouse <command> [options]

Commands:
  start [--config FILE] [--host HOST] [--port PORT] [--workers N|auto] [--watch]
                                                      run the gateway (default config: ./services.json);
                                                      SIGHUP reloads services.json without dropping a request
  check [FILE]                                        validate a services.json and print its routing table
  token --sub NAME [--scope "a b"] [--ttl 1h]         print a development token signed with gateway.auth's secret

Options:
  -c, --config FILE   path of services.json
      --host HOST     interface to listen on (overrides gateway.listen.host)
      --port PORT     port to listen on (overrides gateway.listen.port; 0 picks a free one)
      --workers N     run N gateway processes sharing the port (start; "auto": one per CPU; default 1).
                      SIGHUP restarts them one at a time; a crashed one is replaced
      --watch         reload services.json when it changes, as SIGHUP does (start)
      --sub NAME      token subject (token)
      --scope SCOPES  space-separated scopes (token)
      --ttl TIME      token lifetime: 90s, 15m, 1h, 7d (token; default 1h)
      --aud VALUE     token audience (token; default: the first of gateway.auth.audiences)
  -h, --help          show this help
  -v, --version       print the version

Exit codes: 0 ok, 1 failure while running, 2 bad usage or invalid configuration.`

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  host: { type: 'string' },
  port: { type: 'string' },
  workers: { type: 'string' },
  watch: { type: 'boolean' },
  sub: { type: 'string' },
  scope: { type: 'string' },
  ttl: { type: 'string' },
  aud: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' }
} as const

export interface CliIO {
  readonly out: (text: string) => void
  readonly err: (text: string) => void
}

const processIO: CliIO = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`)
}

export async function main (argv: readonly string[], io: CliIO = processIO): Promise<number> {
  try {
    return await run(argv, io)
  } catch (error) {
    // A bug of ours, or the environment (a port in use): one line, no stack trace.
    io.err(`gatehouse: ${error instanceof Error ? error.message : String(error)}`)
    return EXIT_FAILURE
  }
}

async function run (argv: readonly string[], io: CliIO): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS, allowPositionals: true }>>
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true })
  } catch (error) {
    io.err(`gatehouse: ${(error as Error).message}\n\n${USAGE}`)
    return EXIT_USAGE
  }
  const { values, positionals } = parsed
  if (values.help) {
    io.out(USAGE)
    return EXIT_OK
  }
  if (values.version) {
    io.out(readVersion())
    return EXIT_OK
  }
  const [command, ...rest] = positionals
  if (command === 'check' && rest.length <= 1) return check(rest[0] ?? values.config ?? 'services.json', io)
  if (command === 'start' && rest.length === 0) return start(values, argv, io)
  if (command === 'token' && rest.length === 0) return token(values, io)
  io.err(`gatehouse: ${command === undefined ? 'missing command' : `unknown command or arguments: ${positionals.join(' ')}`}\n\n${USAGE}`)
  return EXIT_USAGE
}

async function check (path: string, io: CliIO): Promise<number> {
  const config = await loadOrReport(() => loadConfig(path), io)
  if (!config) return EXIT_USAGE
  // Build the gateway without listening, so the services' own plugins are loaded and checked too.
  const app = buildGateway(config, { logger: false })
  try {
    await app.ready()
  } catch (error) {
    io.err(`${path} is valid, but the gateway cannot be built from it: ${(error as Error).message}`)
    return EXIT_USAGE
  } finally {
    await app.close()
  }
  io.out(`${path} is valid. Routing table:\n${routingTable(config)}`)
  return EXIT_OK
}

interface StartValues { config?: string, host?: string, port?: string, workers?: string, watch?: boolean }

async function start (values: StartValues, argv: readonly string[], io: CliIO): Promise<number> {
  const port = values.port === undefined ? undefined : Number(values.port)
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
    io.err(`gatehouse: --port must be a whole number from 0 to 65535, not "${values.port}"`)
    return EXIT_USAGE
  }
  const count = parseWorkerCount(values.workers)
  if ('problem' in count) {
    io.err(`gatehouse: ${count.problem}`)
    return EXIT_USAGE
  }
  if (count.workers > 1 && isForeignClusterWorker()) {
    io.err('gatehouse: --workers cannot be used in a process that another cluster manager (e.g. pm2 in cluster mode) runs as its worker: let it run the processes, or drop its cluster mode')
    return EXIT_USAGE
  }
  const overrides: ListenOverrides = { ...(values.host ? { host: values.host } : {}), ...(port === undefined ? {} : { port }) }
  const path = values.config ?? 'services.json'
  if (isGatehouseWorker()) return serveAsWorker(overrides, io)
  if (count.workers === 1) {
    const config = await loadOrReport(() => loadConfig(path), io)
    return config ? serve(config, overrides, io, { reloadable: { watchFile: values.watch === true } }) : EXIT_USAGE
  }
  // Checked once here, before any fork: an invalid file is one report and exit 2, not one per worker.
  const checked = await loadOrReport(() => checkConfigFile(path), io)
  if (!checked) return EXIT_USAGE
  return exitCodeOf(await runPrimary(checked, { workers: count.workers, configPath: path, args: argv, watchFile: values.watch === true }))
}

interface ServeHooks {
  /** Reload services.json on SIGHUP (and on change with `watchFile`); not in a cluster worker, whose primary restarts it instead. */
  readonly reloadable?: { readonly watchFile: boolean }
  /** Called once listening, with the stop signals already handled. */
  readonly listening?: (running: RunningGateway) => void
  /** Called on the stop signal, before the drain starts. */
  readonly beforeDrain?: (running: RunningGateway) => Promise<void>
}

/** One gateway in this process until SIGTERM or SIGINT, then a graceful drain. */
async function serve (config: GatewayConfig, overrides: ListenOverrides, io: CliIO, hooks: ServeHooks = {}): Promise<number> {
  applyGatewayV8Flags()
  let running
  try {
    running = await startGateway(config, overrides)
  } catch (error) {
    io.err(`gatehouse: could not start: ${(error as Error).message}`)
    return EXIT_FAILURE
  }
  const stopSignal = shutdownSignal()
  const stopReloading = hooks.reloadable === undefined ? null : await reloadOnHangupAndChange(running, hooks.reloadable.watchFile)
  hooks.listening?.(running)
  const signal = await stopSignal
  stopReloading?.()
  running.app.log.info({ signal }, 'shutting down')
  await hooks.beforeDrain?.(running)
  await running.close()
  return EXIT_OK
}

/** A cluster worker: the single-gateway path, with the configuration the primary checked. */
async function serveAsWorker (overrides: ListenOverrides, io: CliIO): Promise<number> {
  leaveHangupsToPrimary()
  try {
    const config = await loadOrReport(async () => configOf(await configFromPrimary()), io)
    if (!config) return EXIT_USAGE
    return await serve(config, overrides, io, {
      listening: (running) => {
        ignoreRepeatedStops()
        announceReady(running.url)
      },
      beforeDrain: stopTakingConnections
    })
  } finally {
    leaveCluster()
  }
}

function exitCodeOf (outcome: PrimaryOutcome): number {
  return outcome === 'stopped' ? EXIT_OK : EXIT_FAILURE
}

async function token (values: { config?: string, sub?: string, scope?: string, ttl?: string, aud?: string }, io: CliIO): Promise<number> {
  if (values.sub === undefined || values.sub === '') {
    io.err(`gatehouse: token needs --sub NAME\n\n${USAGE}`)
    return EXIT_USAGE
  }
  const config = await loadOrReport(() => loadConfig(values.config ?? 'services.json'), io)
  if (!config) return EXIT_USAGE
  const minted = await mintDevToken(config.auth, {
    subject: values.sub,
    ttl: values.ttl ?? '1h',
    ...(values.scope === undefined ? {} : { scope: values.scope }),
    ...(values.aud === undefined ? {} : { audience: values.aud })
  })
  if (minted.token === undefined) {
    io.err(`gatehouse: ${minted.problem ?? 'no token'}`)
    return EXIT_USAGE
  }
  io.out(minted.token)
  return EXIT_OK
}

/** The loaded configuration, or undefined once every problem of an invalid one is on stderr. */
async function loadOrReport<T> (load: () => Promise<T>, io: CliIO): Promise<T | undefined> {
  try {
    return await load()
  } catch (error) {
    if (error instanceof ConfigInvalidError) {
      io.err(error.message)
      return undefined
    }
    throw error
  }
}

/** Our package.json sits two levels up when compiled (dist/src/cli.js), one level up in the sources. */
function readVersion (): string {
  for (const candidate of ['../../package.json', '../package.json']) {
    try {
      const manifest = JSON.parse(readFileSync(new URL(candidate, import.meta.url), 'utf8')) as { name?: string, version?: string }
      if (manifest.name === 'gatehouse' && manifest.version) return manifest.version
    } catch {
      // not at this level
    }
  }
  return 'unknown'
}
