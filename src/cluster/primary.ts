/**
 * `gatehouse start --workers N`: the primary process. It serves nothing itself: it forks N workers that
 * each run the single-process start path and share the listening socket (node:cluster hands connections
 * round-robin), replaces crashed ones, turns SIGHUP into a rolling restart and SIGTERM/SIGINT into a
 * graceful stop of every worker. https://nodejs.org/docs/latest-v20.x/api/cluster.html
 */
import cluster from 'node:cluster'
import { resolve as resolvePath } from 'node:path'
import type { CheckedConfig } from './config-snapshot.js'
import { watchConfigFile, type ConfigWatch } from '../reload/config-watch.js'
import { WorkerFleet } from './fleet.js'
import { perWorkerStateWarning } from './per-worker-state.js'
import { primaryLogger } from './primary-log.js'
import { rollingRestarts } from './rolling-restart.js'

export interface PrimaryOptions {
  readonly workers: number
  /** services.json, read again on SIGHUP. */
  readonly configPath: string
  /** `--watch`: a change to services.json restarts the workers as SIGHUP does. */
  readonly watchFile?: boolean
  /** The CLI arguments each worker runs with (the primary's own: a worker finds out it is one by itself). */
  readonly args: readonly string[]
}

/**
 * How the primary ended: `stopped` on a signal with every worker drained, `forced` when workers had to be
 * killed (a second signal, or the drain deadline), `crash loop` when workers kept dying at boot.
 */
export type PrimaryOutcome = 'stopped' | 'forced' | 'crash loop'

export async function runPrimary (checked: CheckedConfig, options: PrimaryOptions): Promise<PrimaryOutcome> {
  const log = primaryLogger(checked.config.logLevel)
  const warnOfPerWorkerState = (config: CheckedConfig): void => {
    const warning = perWorkerStateWarning(config.config, options.workers)
    if (warning !== null) log.warn(warning)
  }
  warnOfPerWorkerState(checked)
  // Workers run the script this primary runs (bin/gatehouse.js) with the same arguments.
  cluster.setupPrimary({ args: [...options.args] })
  return new Promise<PrimaryOutcome>((resolve) => {
    let stopping = false
    const fleet = new WorkerFleet({ log, config: checked, onCrashLoop: () => stop('crash loop') })
    const restarts = rollingRestarts(fleet, log, options.configPath, (config) => {
      log.level = config.config.logLevel
      warnOfPerWorkerState(config)
    })
    let watcher: ConfigWatch | null = null
    if (options.watchFile === true) {
      watchConfigFile(resolvePath(options.configPath), () => restarts.request()).then((started) => {
        if (stopping) started.close()
        else watcher = started
      }, (error: unknown) => log.error({ err: error }, 'cannot watch services.json'))
    }
    const stop = (outcome: PrimaryOutcome, signal?: NodeJS.Signals): void => {
      if (stopping) return
      stopping = true
      watcher?.close()
      log.info({ ...(signal === undefined ? {} : { signal }), workers: fleet.running().length }, 'stopping the workers')
      fleet.stopAll().then((clean) => {
        process.off('SIGTERM', onStop)
        process.off('SIGINT', onStop)
        log.info('all workers exited')
        resolve(clean ? outcome : 'forced')
      }, () => resolve('forced'))
    }
    const onStop = (signal: NodeJS.Signals): void => {
      if (!stopping) {
        stop('stopped', signal)
        return
      }
      // A second signal while draining forces, as it does for a single gateway process.
      log.warn({ signal }, 'second stop signal: killing the workers')
      fleet.kill()
    }
    process.on('SIGTERM', onStop)
    process.on('SIGINT', onStop)
    // Stays installed while stopping (the request is ignored then): SIGHUP's default action would kill the primary.
    process.on('SIGHUP', () => {
      watcher?.sawCurrentFile()
      restarts.request()
    })
    log.info({ workers: options.workers }, 'starting workers')
    for (let i = 0; i < options.workers; i++) fleet.fork('start')
  })
}
