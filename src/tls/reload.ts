/**
 * Certificate reload without a restart: on a change in the directories of the certificate and key files
 * (debounced, so a cert and a key written one after the other load as one pair) and on SIGHUP, the pair
 * is read again, checked, and handed to `setSecureContext`. New handshakes get the new certificate;
 * connections already open keep the one they negotiated. A pair that does not load (half written, a key
 * of another certificate) is logged and the current one keeps serving.
 *
 * Directories are watched rather than files: editors, `mv` and Kubernetes secret volumes replace a file
 * instead of writing to it, and a watch on the old file would go quiet after the first replacement.
 */
import { EventEmitter } from 'node:events'
import { watch, type FSWatcher } from 'node:fs'
import { dirname } from 'node:path'
import type { Server as TlsServer } from 'node:tls'
import type { FastifyBaseLogger } from 'fastify'
import type { ListenerTlsSettings } from '../config/types.js'
import { readKeyPair, type CertificateSummary, type KeyPair } from './key-pair.js'
import { secureContextOptions } from './listener.js'

const DEBOUNCE_MS = 200

export type ReloadTrigger = 'file change' | 'SIGHUP' | 'call'
export type ReloadOutcome = 'reloaded' | 'unchanged' | 'failed'

/**
 * Events: `reloaded` (summary of the new certificate), `unchanged` (a change that left the pair as it was),
 * `failed` (the error; the current pair keeps serving).
 */
export interface CertificateReloader extends EventEmitter {
  /** Reads the files now; a SIGHUP or an explicit call loads the pair even when it looks unchanged. */
  reload (trigger?: ReloadTrigger): Promise<ReloadOutcome>
  /** Stops watching and listening for SIGHUP. */
  close (): void
}

export function watchCertificates (server: TlsServer, tls: ListenerTlsSettings, log: FastifyBaseLogger): CertificateReloader {
  const events = new EventEmitter()
  let current: KeyPair = { cert: tls.cert, key: tls.key }
  // One reload at a time, in order: a SIGHUP during a file-change reload waits for it.
  let queue: Promise<unknown> = Promise.resolve()
  let timer: NodeJS.Timeout | undefined
  let closed = false

  async function load (trigger: ReloadTrigger): Promise<ReloadOutcome> {
    let pair: Awaited<ReturnType<typeof readKeyPair>>
    try {
      pair = await readKeyPair(tls.certFile, tls.keyFile)
      if (trigger === 'file change' && pair.cert === current.cert && pair.key === current.key) {
        events.emit('unchanged')
        return 'unchanged'
      }
      server.setSecureContext(secureContextOptions(tls, pair))
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error)
      log.error({ trigger, reason }, 'tls: the certificate and key could not be loaded; the current certificate keeps serving')
      events.emit('failed', error)
      return 'failed'
    }
    current = { cert: pair.cert, key: pair.key }
    log.info({ trigger, certificate: pair.summary }, 'tls: certificate reloaded')
    events.emit('reloaded', pair.summary satisfies CertificateSummary)
    return 'reloaded'
  }

  function reload (trigger: ReloadTrigger = 'call'): Promise<ReloadOutcome> {
    const next = queue.then(() => load(trigger))
    queue = next
    return next
  }

  const onSignal = (): void => { reload('SIGHUP').catch(() => {}) }
  process.on('SIGHUP', onSignal)

  const watchers: FSWatcher[] = []
  if (tls.reload) {
    for (const directory of new Set([dirname(tls.certFile), dirname(tls.keyFile)])) {
      const watcher = watch(directory, { persistent: false }, () => {
        clearTimeout(timer)
        timer = setTimeout(() => { if (!closed) reload('file change').catch(() => {}) }, DEBOUNCE_MS)
      })
      watcher.on('error', (error) => log.warn({ directory, reason: error.message }, 'tls: stopped watching the certificate directory; SIGHUP still reloads'))
      watchers.push(watcher)
    }
  }

  return Object.assign(events, {
    reload,
    close (): void {
      closed = true
      clearTimeout(timer)
      process.off('SIGHUP', onSignal)
      for (const watcher of watchers) watcher.close()
    }
  })
}
