/**
 * Spawning the bench's child servers, waiting for their URL handshake (on stderr), and stopping them.
 * A child's stdout goes to /dev/null: the log lines are still formatted and written, but nobody reads them.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { parseUrlLine } from './child-protocol.js'

const READY_TIMEOUT_MS = 20_000
const STOP_GRACE_MS = 3_000
const TAIL_LINES = 20

export interface ChildSpec {
  readonly name: string
  /** Compiled file next to this one, e.g. 'backend.js'. */
  readonly script: string
  readonly env?: Readonly<Record<string, string>>
}

export interface BenchChild {
  readonly name: string
  readonly pid: number
  readonly url: string
  readonly process: ChildProcess
  /** Last lines the child wrote to stderr, for failure messages. */
  readonly stderrTail: string[]
}

/** Starts a child and resolves once it has announced its URL. */
export async function startChild (spec: ChildSpec, register: (child: ChildProcess) => void): Promise<BenchChild> {
  const child = spawn(process.execPath, [fileURLToPath(new URL(spec.script, import.meta.url))], {
    env: { ...process.env, ...spec.env },
    stdio: ['ignore', 'ignore', 'pipe']
  })
  register(child)
  if (child.pid === undefined) throw new Error(`${spec.name}: could not spawn ${spec.script}`)
  const stderr = readLines(child.stderr)
  const stderrTail = keepTail(stderr)
  const url = await awaitHandshake(spec, child, stderr, stderrTail)
  return { name: spec.name, pid: child.pid, url, process: child, stderrTail }
}

function readLines (stream: Readable | null): ReturnType<typeof createInterface> {
  if (stream === null) throw new Error('child stream is not piped')
  return createInterface({ input: stream, crlfDelay: Infinity })
}

/** Keeps draining the stream for the child's whole life (a full pipe would block it) and remembers the end. */
function keepTail (lines: ReturnType<typeof createInterface>): string[] {
  const tail: string[] = []
  lines.on('line', (line) => {
    tail.push(line)
    if (tail.length > TAIL_LINES) tail.shift()
  })
  return tail
}

function awaitHandshake (spec: ChildSpec, child: ChildProcess, lines: ReturnType<typeof createInterface>, stderrTail: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const fail = (reason: string): void => {
      cleanup()
      reject(new Error(`${spec.name} did not start: ${reason}\n${stderrTail.join('\n')}`))
    }
    const onLine = (line: string): void => {
      const url = parseUrlLine(line)
      if (url === undefined) return
      cleanup()
      resolve(url)
    }
    // 'close' rather than 'exit': it waits for stdio to end, so the tail holds the child's last words.
    const onClose = (code: number | null, signal: string | null): void => fail(`exited (code ${code}, signal ${signal})`)
    const timer = setTimeout(() => fail(`no URL line within ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS)
    function cleanup (): void {
      clearTimeout(timer)
      lines.off('line', onLine)
      child.off('close', onClose)
    }
    lines.on('line', onLine)
    child.once('close', onClose)
  })
}

export function hasExited (child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null
}

/** SIGTERM, then SIGKILL if the child has not gone after a grace period. */
export async function stopChild (child: ChildProcess): Promise<void> {
  if (hasExited(child)) return
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS)
  await exited
  clearTimeout(timer)
}

/** Last resort on process exit: synchronous, so it can run in an 'exit' listener. */
export function killNow (child: ChildProcess): void {
  if (!hasExited(child)) child.kill('SIGKILL')
}
