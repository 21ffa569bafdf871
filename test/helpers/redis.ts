/**
 * Redis for tests: the shared server at REDIS_URL (default redis://127.0.0.1:6379), unique key prefixes so
 * runs never collide, and a private redis-server on a spare port that a test may kill and restart.
 * Without Redis the tests skip with a loud reason, except in CI (CI=true), where they must run and fail.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type AddressInfo } from 'node:net'
import { createInterface } from 'node:readline'
import { Redis } from 'ioredis'

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const IN_CI = process.env.CI === 'true'
const READY_LINE = /Ready to accept connections/

/** A key prefix no other test run uses. */
export function uniqueKeyPrefix (): string {
  return `gatehouse-test:${randomUUID()}:`
}

/** Whether `url` answers PING within a second. */
export async function redisAnswers (url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 1_000, commandTimeout: 1_000, maxRetriesPerRequest: 0, retryStrategy: () => null })
  client.on('error', () => {})
  try {
    await client.connect()
    return (await client.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    client.disconnect()
  }
}

/**
 * True when the tests needing `what` must be skipped: it is missing and this is not CI. Says so loudly;
 * in CI the tests run anyway and fail on the missing piece instead of passing by skipping.
 */
export function skipWithout (what: string, available: boolean): boolean {
  if (available) return false
  const reason = `${what} is not available`
  if (IN_CI) {
    console.warn(`\n!!! ${reason}: CI=true, so the Redis tests run and fail instead of skipping\n`)
    return false
  }
  console.warn(`\n!!! SKIPPING Redis tests: ${reason} (set REDIS_URL, start redis-server; CI=true makes this a failure)\n`)
  return true
}

export function hasRedisServerBinary (): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0
}

/** Deletes every key under `prefix` (the tests' counters expire anyway; this keeps the server tidy). */
export async function deleteKeys (url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 0 })
  client.on('error', () => {})
  try {
    const keys = await client.keys(`${prefix}*`)
    if (keys.length > 0) await client.del(...keys)
  } finally {
    client.disconnect()
  }
}

/** A port that was free a moment ago (redis-server cannot be told to pick one itself). */
export async function sparePort (): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

export interface PrivateRedis {
  readonly url: string
  /** Kills the server the hard way (SIGKILL), as a crash would, and waits until it is gone. */
  kill (): Promise<void>
  /** Starts it again on the same port, empty (no persistence). */
  start (): Promise<void>
  /** Freezes (SIGSTOP) or thaws (SIGCONT) the server: connections stay open, nothing is answered. */
  freeze (frozen: boolean): void
}

/** A redis-server of this test's own on a spare port, without persistence. Kill it in afterAll. */
export async function startPrivateRedis (): Promise<PrivateRedis> {
  const port = await sparePort()
  let child: ChildProcess | null = null
  const start = async (): Promise<void> => {
    const started = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'ignore'] })
    child = started
    await new Promise<void>((resolve, reject) => {
      const lines = createInterface({ input: started.stdout })
      lines.on('line', (line) => {
        if (!READY_LINE.test(line)) return
        // Keep draining its log so a full pipe never blocks the server.
        lines.close()
        started.stdout.resume()
        resolve()
      })
      started.once('exit', (code) => reject(new Error(`redis-server on port ${port} exited with ${code} before it was ready`)))
      started.once('error', reject)
    })
  }
  const kill = async (): Promise<void> => {
    const running = child
    child = null
    if (running === null || running.exitCode !== null || running.signalCode !== null) return
    const exited = once(running, 'exit')
    running.kill('SIGKILL')
    running.kill('SIGCONT')
    await exited
  }
  const freeze = (frozen: boolean): void => { child?.kill(frozen ? 'SIGSTOP' : 'SIGCONT') }
  await start()
  return { url: `redis://127.0.0.1:${port}`, kill, start, freeze }
}
