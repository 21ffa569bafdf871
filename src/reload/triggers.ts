/**
 * What makes a single gateway process reload services.json (issue 6): SIGHUP always, and with
 * `gatehouse start --watch` a change to the file. (With --workers the primary turns both into a rolling
 * restart of the workers instead: src/cluster/primary.ts.)
 */
import type { RunningGateway } from '../server.js'
import { watchConfigFile } from './config-watch.js'

function ignoreHangup (): void {}

/** Installs the triggers; the result removes them before the drain (a SIGHUP then is ignored). */
export async function reloadOnHangupAndChange (running: RunningGateway, watchFile: boolean): Promise<() => void> {
  const source = running.app.gatehouse.config.source
  const watcher = watchFile && source !== null
    ? await watchConfigFile(source, () => { running.reload(undefined, 'file change').catch(logFailure) })
    : null
  const onHangup = (): void => {
    watcher?.sawCurrentFile()
    running.reload(undefined, 'SIGHUP').catch(logFailure)
  }
  // A reload is logged (applied or refused, with every problem) by the gateway itself; only a bug lands here.
  function logFailure (error: unknown): void {
    running.app.log.error({ err: error }, 'reload failed')
  }
  process.on('SIGHUP', onHangup)
  running.app.log.info({ watching: watcher === null ? null : source }, watcher === null
    ? 'reloads services.json on SIGHUP'
    : 'reloads services.json on SIGHUP and when it changes')
  return () => {
    process.off('SIGHUP', onHangup)
    // SIGHUP's default action would end the process in the middle of its drain.
    process.on('SIGHUP', ignoreHangup)
    watcher?.close()
  }
}
