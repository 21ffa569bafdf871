/**
 * SIGHUP in cluster mode: check services.json again, then replace the workers one at a time — fork a new
 * one, wait until it listens, then drain and stop one old one — so capacity never drops below the worker
 * count and never rises above it plus one. New workers also read the certificate files afresh, which is how
 * a cluster picks up a renewed certificate. A file that does not validate, or a new worker that dies before
 * listening, stops the restart: the workers still running keep serving the last good configuration.
 */
import { ConfigInvalidError } from '../errors.js'
import { checkConfigFile, type CheckedConfig } from './config-snapshot.js'
import type { WorkerFleet } from './fleet.js'
import type { PrimaryLogger } from './primary-log.js'

export interface RollingRestarts {
  /** Starts a rolling restart, or queues one more when one is under way (a SIGHUP is never lost). */
  request (): void
}

export function rollingRestarts (fleet: WorkerFleet, log: PrimaryLogger, configPath: string, onConfig: (config: CheckedConfig) => void): RollingRestarts {
  let running = false
  let again = false
  const loop = async (): Promise<void> => {
    running = true
    try {
      do {
        again = false
        const config = await recheck(configPath, log)
        if (config === null || fleet.closing) continue
        fleet.useConfig(config)
        onConfig(config)
        await replaceOneByOne(fleet, log)
      } while (again && !fleet.closing)
    } finally {
      running = false
    }
  }
  return {
    request () {
      if (fleet.closing) return
      if (running) {
        log.info('rolling restart already under way: another one follows it')
        again = true
        return
      }
      loop().catch((error: unknown) => log.error({ reason: (error as Error).message }, 'rolling restart failed'))
    }
  }
}

async function recheck (configPath: string, log: PrimaryLogger): Promise<CheckedConfig | null> {
  try {
    return await checkConfigFile(configPath)
  } catch (error) {
    if (!(error instanceof ConfigInvalidError)) throw error
    log.error({ problems: error.problems }, `rolling restart refused: ${error.message}; the workers keep the last good configuration`)
    return null
  }
}

async function replaceOneByOne (fleet: WorkerFleet, log: PrimaryLogger): Promise<void> {
  const old = fleet.running()
  log.info({ workers: old.length, workerPids: old.map((member) => member.pid) }, 'rolling restart: replacing the workers one at a time')
  for (const member of old) {
    // One that crashed meanwhile was replaced by a worker that already runs the new configuration.
    if (fleet.closing || !fleet.isRunning(member)) continue
    const fresh = fleet.fork('rolling restart')
    if (!await fresh.ready) {
      if (!fleet.closing) log.error({ workerPid: fresh.pid }, 'rolling restart stopped: a new worker exited before listening; the old workers keep serving')
      return
    }
    await fleet.stop(member)
  }
  if (!fleet.closing) log.info({ workerPids: fleet.running().map((member) => member.pid) }, 'rolling restart finished')
}
