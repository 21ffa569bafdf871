/** A gatehouse CLI process started the way users start it (`node bin/gatehouse.js ...`). */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export const BIN = fileURLToPath(new URL('../../bin/gatehouse.js', import.meta.url))

export interface GatehouseProcess {
  readonly child: ChildProcessWithoutNullStreams
  /** Every JSON log line so far. */
  readonly logs: Array<Record<string, unknown>>
  /** Resolves with the first log line that satisfies `match`. */
  waitForLog (match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>
}

export function spawnGatehouse (args: string[], env: NodeJS.ProcessEnv = {}): GatehouseProcess {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: 'pipe' })
  const logs: Array<Record<string, unknown>> = []
  const waiters: Array<{ match: (line: Record<string, unknown>) => boolean, resolve: (line: Record<string, unknown>) => void }> = []
  createInterface({ input: child.stdout }).on('line', (text) => {
    let line: Record<string, unknown>
    try {
      line = JSON.parse(text) as Record<string, unknown>
    } catch {
      return
    }
    logs.push(line)
    for (const waiter of [...waiters]) {
      if (waiter.match(line)) {
        waiters.splice(waiters.indexOf(waiter), 1)
        waiter.resolve(line)
      }
    }
  })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return {
    child,
    logs,
    exited,
    waitForLog: (match) => {
      const found = logs.find(match)
      if (found) return Promise.resolve(found)
      return new Promise((resolve, reject) => {
        waiters.push({ match, resolve })
        exited.then((code) => reject(new Error(`gatehouse exited with ${code} before the expected log line`)), reject)
      })
    }
  }
}
