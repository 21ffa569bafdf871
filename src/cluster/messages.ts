/**
 * What the primary and a worker tell each other over the cluster's IPC channel. The worker asks for its
 * configuration (a message sent to it before its listener exists would be lost), then says when it listens.
 */
import type { ConfigSnapshot } from './config-snapshot.js'

/**
 * Set by our primary on the workers it forks. `cluster.isWorker` alone also holds under another cluster
 * manager (pm2's cluster mode runs the app as node:cluster workers), whose primary would never answer.
 */
export const WORKER_ENVIRONMENT = Object.freeze({ GATEHOUSE_CLUSTER_WORKER: '1' })

export type WorkerMessage =
  | { readonly gatehouse: 'config-request' }
  | { readonly gatehouse: 'ready', readonly url: string }

export type PrimaryMessage = { readonly gatehouse: 'config' } & ConfigSnapshot

export function isWorkerMessage (value: unknown): value is WorkerMessage {
  if (typeof value !== 'object' || value === null) return false
  const { gatehouse, url } = value as Record<string, unknown>
  return gatehouse === 'config-request' || (gatehouse === 'ready' && typeof url === 'string')
}

export function isPrimaryMessage (value: unknown): value is PrimaryMessage {
  if (typeof value !== 'object' || value === null) return false
  const { gatehouse, source } = value as Record<string, unknown>
  return gatehouse === 'config' && typeof source === 'string'
}
