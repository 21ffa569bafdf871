/**
 * The one Redis client a gateway shares (rate-limit counters today). Redis trouble must never stall a
 * request (design.md §4 "Redis down"): every command either gets a connection that is ready now or fails at
 * once, and never waits longer than `commandTimeout`. Reconnection is automatic and never gives up, so
 * counting resumes by itself when Redis comes back.
 */
import { Redis } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import type { RedisSettings } from '../config/types.js'
import type { Holding } from '../reload/carryover.js'

// Backoff between reconnection attempts: 50 ms doubling up to 2 s, then every 2 s for as long as it takes.
const RECONNECT_FIRST_DELAY_MS = 50
const RECONNECT_MAX_DELAY_MS = 2_000

export function reconnectDelay (attempt: number): number {
  return Math.min(RECONNECT_FIRST_DELAY_MS * 2 ** Math.min(attempt - 1, 16), RECONNECT_MAX_DELAY_MS)
}

/**
 * A client that is not connected yet; call `connectRedis` once. Connection state changes are logged once
 * per change (lost, back), not once per failed attempt or per request.
 */
export function createRedisClient (settings: RedisSettings, log: FastifyBaseLogger): Redis {
  const client = new Redis(settings.url, {
    lazyConnect: true,
    connectTimeout: settings.connectTimeout,
    commandTimeout: settings.commandTimeout,
    // Without a connection a command fails now instead of queueing behind a reconnect: the caller decides
    // (fail open or closed). A command in flight when the connection drops fails instead of being retried.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    // A Redis that stops answering (frozen, or a network black hole) keeps the connection "ready": commands
    // time out one by one while ioredis keeps queueing them, to replay every INCR when it wakes up. A socket
    // that is silent this long is dropped instead, failing what is queued and reconnecting.
    socketTimeout: settings.commandTimeout * 2,
    retryStrategy: reconnectDelay
  })
  let healthy = true
  client.on('error', (error: Error) => {
    if (!healthy) return
    healthy = false
    log.warn({ err: { type: error.name, message: error.message } }, 'Redis unreachable; reconnecting in the background')
  })
  client.on('ready', () => {
    if (healthy) return
    healthy = true
    log.info('Redis reachable again')
  })
  return client
}

/** First connection attempt, bounded by connectTimeout; failure is logged and left to the reconnect loop. */
export async function connectRedis (client: Redis): Promise<void> {
  await client.connect().catch(() => {})
}

/** Says goodbye when connected; otherwise just stops the reconnect loop. */
export async function closeRedis (client: Redis): Promise<void> {
  if (client.status === 'ready') {
    await client.quit().catch(() => client.disconnect())
    return
  }
  client.disconnect()
}

/**
 * The client named `name` for `settings`, shared with the other instances of a reloadable gateway and
 * closed when the last one holding it closes (src/reload/carryover.ts); connected, or left to its
 * reconnect loop. One kept from before a reload is connected already: connecting again is a no-op.
 */
export async function heldRedisClient (holding: Holding, name: string, settings: RedisSettings, log: FastifyBaseLogger): Promise<Redis> {
  const client = holding.acquire(name, settings, () => createRedisClient(settings, log), closeRedis)
  await connectRedis(client)
  return client
}
