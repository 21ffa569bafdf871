/**
 * The worker's side of the cluster: get the configuration from the primary, say when it listens, leave
 * the cluster when done, and leave signals other than the first SIGTERM/SIGINT to the primary.
 */
import cluster from 'node:cluster'
import type { RunningGateway } from '../server.js'
import type { ConfigSnapshot } from './config-snapshot.js'
import { isPrimaryMessage, WORKER_ENVIRONMENT, type WorkerMessage } from './messages.js'

/** Whether this process is a worker forked by `gatehouse start --workers`. */
export function isGatehouseWorker (): boolean {
  return cluster.isWorker && process.env.GATEHOUSE_CLUSTER_WORKER === WORKER_ENVIRONMENT.GATEHOUSE_CLUSTER_WORKER
}

/** Whether another cluster manager (pm2's cluster mode) runs this process as one of its workers. */
export function isForeignClusterWorker (): boolean {
  return cluster.isWorker && !isGatehouseWorker()
}

/** Asks the primary for the services.json it validated, and waits for the answer. */
export function configFromPrimary (): Promise<ConfigSnapshot> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: unknown): void => {
      if (!isPrimaryMessage(message)) return
      process.off('message', onMessage)
      process.off('disconnect', onDisconnect)
      resolve({ source: message.source, raw: message.raw })
    }
    const onDisconnect = (): void => {
      process.off('message', onMessage)
      reject(new Error('the primary went away before sending the configuration'))
    }
    process.on('message', onMessage)
    process.once('disconnect', onDisconnect)
    send({ gatehouse: 'config-request' })
  })
}

/**
 * Tells the primary this worker listens on every listener of the configuration (the cluster's own
 * 'listening' event fires per listener, and a worker with an HTTP → HTTPS redirect has two).
 */
export function announceReady (url: string): void {
  send({ gatehouse: 'ready', url })
}

/**
 * SIGHUP belongs to the primary (a rolling restart). A worker without a TLS certificate to reload would
 * otherwise die of a SIGHUP sent to the whole process group (a closed terminal); with one, the certificate
 * reloader's own handler still reloads it when a SIGHUP is sent to the worker itself.
 */
export function leaveHangupsToPrimary (): void {
  process.on('SIGHUP', () => {})
}

/**
 * Call once shutdownSignal() listens: the first SIGTERM or SIGINT still starts the drain, and the ones after
 * it no longer kill the worker (with no listener left, Node would restore the default action). Ctrl-C
 * reaches the primary and every worker at once, and the primary then forwards SIGTERM; forcing is the
 * primary's call (a second signal to it).
 */
export function ignoreRepeatedStops (): void {
  process.on('SIGTERM', () => {})
  process.on('SIGINT', () => {})
}

/**
 * The IPC channel to the primary keeps the event loop alive: without this a drained worker would never exit.
 * `worker.disconnect()` (not `process.disconnect()`) marks the exit as intended, so it keeps its exit code.
 */
export function leaveCluster (): void {
  if (cluster.worker?.isConnected()) cluster.worker.disconnect()
}

/**
 * A worker told to stop first closes its listener: from then on the primary hands new connections to the
 * other workers (one handed over meanwhile is refused by this worker and redistributed). It then serves,
 * for a moment, the requests of connections it had just accepted, and only then drains: a draining gateway
 * refuses new requests (503), which during a rolling restart would hit exactly those.
 */
export async function stopTakingConnections (running: RunningGateway): Promise<void> {
  // The drain later closes it again and waits for its last connection (server.ts).
  running.server.close()
  await new Promise<void>((resolve) => { setTimeout(resolve, HANDOFF_GRACE_MS) })
}

/** How long requests on connections accepted just before the stop get before the drain begins. */
const HANDOFF_GRACE_MS = 200

function send (message: WorkerMessage): void {
  process.send?.(message)
}
