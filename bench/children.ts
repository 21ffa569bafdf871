/**
 * Spawning the bench's child servers, waiting until they are ready, and stopping them. A Node child says
 * it is ready with the URL handshake on stderr (child-protocol.ts); a program that cannot (nginx) is ready
 * once its port accepts a connection. A child's stdout goes to /dev/null: log lines are still formatted and
 * written, but nobody reads them.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { connect } from 'node:net'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { parseUrlLine } from './child-protocol.js'
import { pinned, type Command, type CpuSet } from './cpu-affinity.js'

const READY_TIMEOUT_MS = 20_000
const CONNECT_RETRY_MS = 50
const STOP_GRACE_MS = 3_000
const TAIL_LINES = 20

/** A compiled bench script next to this file, run with this Node; it announces its URL. */
export interface NodeChildSpec {
  readonly name: string
  /** Compiled file next to this one, e.g. 'backend.js'. */
  readonly script: string
  readonly env?: Readonly<Record<string, string>>
  /** Node options before the script (the Gatehouse targets run with the production ones). */
  readonly nodeOptions?: readonly string[]
  /** The CPUs it runs on (cpu-affinity.ts); any when undefined. */
  readonly cpus?: CpuSet
}

/** Any other program: it is ready once `url`'s host and port accept a TCP connection. */
export interface ProgramChildSpec {
  readonly name: string
  readonly command: string
  readonly args: readonly string[]
  readonly url: string
  readonly cpus?: CpuSet
}

export type ChildSpec = NodeChildSpec | ProgramChildSpec

export interface BenchChild {
  readonly name: string
  readonly pid: number
  readonly url: string
  readonly process: ChildProcess
  /** Last lines the child wrote to stderr, for failure messages. */
  readonly stderrTail: string[]
}

type Lines = ReturnType<typeof createInterface>
/** Watches for readiness and calls `ready` with the child's URL; returns a function that stops watching. */
type ReadinessProbe = (ready: (url: string) => void) => () => void

/** Starts a child and resolves once it is ready. */
export async function startChild (spec: ChildSpec, register: (child: ChildProcess) => void): Promise<BenchChild> {
  const { command, args } = pinned(commandOf(spec), spec.cpus)
  const child = spawn(command, args, { env: { ...process.env, ...('script' in spec ? spec.env : {}) }, stdio: ['ignore', 'ignore', 'pipe'] })
  register(child)
  if (child.pid === undefined) throw new Error(`${spec.name}: could not spawn ${'script' in spec ? spec.script : spec.command}`)
  const stderr = readLines(child.stderr)
  const stderrTail = keepTail(stderr)
  const url = 'script' in spec
    ? await awaitReady(spec.name, child, stderrTail, handshake(stderr), 'no URL line')
    : await awaitReady(spec.name, child, stderrTail, accepting(spec.url), `nothing listening on ${spec.url}`)
  return { name: spec.name, pid: child.pid, url, process: child, stderrTail }
}

function commandOf (spec: ChildSpec): Command {
  if (!('script' in spec)) return spec
  return { command: process.execPath, args: [...(spec.nodeOptions ?? []), fileURLToPath(new URL(spec.script, import.meta.url))] }
}

function readLines (stream: Readable | null): Lines {
  if (stream === null) throw new Error('child stream is not piped')
  return createInterface({ input: stream, crlfDelay: Infinity })
}

/** Keeps draining the stream for the child's whole life (a full pipe would block it) and remembers the end. */
function keepTail (lines: Lines): string[] {
  const tail: string[] = []
  lines.on('line', (line) => {
    tail.push(line)
    if (tail.length > TAIL_LINES) tail.shift()
  })
  return tail
}

/** The `BENCH_URL {…}` line on stderr. */
function handshake (lines: Lines): ReadinessProbe {
  return (ready) => {
    const onLine = (line: string): void => {
      const url = parseUrlLine(line)
      if (url !== undefined) ready(url)
    }
    lines.on('line', onLine)
    return () => lines.off('line', onLine)
  }
}

/** Retries a TCP connect until one succeeds: the program has bound its port and is accepting. */
function accepting (url: string): ReadinessProbe {
  const { hostname, port } = new URL(url)
  return (ready) => {
    let stopped = false
    let retry: NodeJS.Timeout | undefined
    const attempt = (): void => {
      const socket = connect(Number(port), hostname)
      socket.once('connect', () => {
        socket.destroy()
        if (!stopped) ready(url)
      })
      socket.once('error', () => {
        socket.destroy()
        if (!stopped) retry = setTimeout(attempt, CONNECT_RETRY_MS)
      })
    }
    attempt()
    return () => {
      stopped = true
      clearTimeout(retry)
    }
  }
}

function awaitReady (name: string, child: ChildProcess, stderrTail: string[], probe: ReadinessProbe, notReady: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let stopProbe = (): void => {}
    const fail = (reason: string): void => {
      cleanup()
      reject(new Error(`${name} did not start: ${reason}\n${stderrTail.join('\n')}`))
    }
    // 'close' rather than 'exit': it waits for stdio to end, so the tail holds the child's last words.
    const onClose = (code: number | null, signal: string | null): void => fail(`exited (code ${code}, signal ${signal})`)
    const timer = setTimeout(() => fail(`${notReady} within ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS)
    function cleanup (): void {
      clearTimeout(timer)
      stopProbe()
      child.off('close', onClose)
    }
    child.once('close', onClose)
    stopProbe = probe((url) => {
      cleanup()
      resolve(url)
    })
  })
}

export function hasExited (child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null
}

/** Throws, with the child's last words, when it has exited: numbers from a dead server mean nothing. */
export function assertAlive (child: BenchChild): void {
  if (!hasExited(child.process)) return
  throw new Error(`${child.name} (pid ${child.pid}) exited during the bench:\n${child.stderrTail.join('\n')}`)
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
