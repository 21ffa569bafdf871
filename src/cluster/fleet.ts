/**
 * The primary's workers: forks them with the current configuration, knows which are up, replaces one that
 * exits unasked (crash-loop.ts decides when, or that it is time to give up), and stops them on request.
 * Once stopping everything has begun, it forks nothing more.
 */
import cluster, { type Worker } from 'node:cluster'
import { CrashLoop, EARLY_EXIT_MS } from './crash-loop.js'
import type { CheckedConfig } from './config-snapshot.js'
import { isWorkerMessage, WORKER_ENVIRONMENT, type PrimaryMessage } from './messages.js'
import type { PrimaryLogger } from './primary-log.js'

/** Past the workers' own drain timeout, how long the primary still waits before it kills them. */
export const STOP_GRACE_MS = 5_000

/** Why a worker was forked: a rolling restart's new worker that dies before listening is not replaced. */
export type ForkReason = 'start' | 'replacement' | 'rolling restart'

export interface FleetMember {
  readonly worker: Worker
  readonly pid: number
  readonly reason: ForkReason
  /** true once the worker listens; false when it exited first. */
  readonly ready: Promise<boolean>
  readonly exited: Promise<void>
}

interface MemberState {
  listening: boolean
  stopping: boolean
  readonly forkedAt: number
}

export interface FleetOptions {
  readonly log: PrimaryLogger
  readonly config: CheckedConfig
  /** Called once when workers keep dying at boot (crash-loop.ts). */
  readonly onCrashLoop: () => void
}

export class WorkerFleet {
  readonly #log: PrimaryLogger
  readonly #onCrashLoop: () => void
  readonly #crashLoop = new CrashLoop()
  readonly #members = new Map<FleetMember, MemberState>()
  readonly #replacements = new Set<NodeJS.Timeout>()
  #config: CheckedConfig
  #closing = false
  #killed = false

  constructor (options: FleetOptions) {
    this.#log = options.log
    this.#config = options.config
    this.#onCrashLoop = options.onCrashLoop
  }

  get closing (): boolean {
    return this.#closing
  }

  /** Workers forked from now on run `config` (those running keep theirs until replaced). */
  useConfig (config: CheckedConfig): void {
    this.#config = config
  }

  /** Workers up or starting that nobody asked to stop. */
  running (): FleetMember[] {
    return [...this.#members].filter(([, state]) => !state.stopping).map(([member]) => member)
  }

  isRunning (member: FleetMember): boolean {
    return this.#members.get(member)?.stopping === false
  }

  fork (reason: ForkReason): FleetMember {
    const worker = cluster.fork(WORKER_ENVIRONMENT)
    const state: MemberState = { listening: false, stopping: false, forkedAt: Date.now() }
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()))
    const ready = new Promise<boolean>((resolve) => {
      worker.on('message', (message: unknown) => {
        if (!isWorkerMessage(message)) return
        if (message.gatehouse === 'config-request') {
          worker.send({ gatehouse: 'config', ...this.#config.snapshot } satisfies PrimaryMessage)
          return
        }
        state.listening = true
        this.#log.info({ worker: worker.id, workerPid: worker.process.pid, url: message.url, reason }, 'worker started')
        resolve(true)
      })
      worker.once('exit', () => resolve(false))
    })
    const member: FleetMember = { worker, pid: worker.process.pid ?? 0, reason, ready, exited }
    // A message to a worker that just died fails here; its 'exit' follows and is handled there.
    worker.on('error', (error: Error) => this.#log.debug({ worker: worker.id, reason: error.message }, 'worker channel error'))
    this.#members.set(member, state)
    this.#log.debug({ worker: worker.id, workerPid: member.pid, reason }, 'worker forked')
    // The crash streak ends once a worker proves it can run (crash-loop.ts).
    const survival = setTimeout(() => { if (this.#members.has(member)) this.#crashLoop.survived() }, EARLY_EXIT_MS)
    survival.unref()
    worker.once('exit', (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(survival)
      this.#members.delete(member)
      this.#exited(member, state, { code, signal })
    })
    return member
  }

  /** Asks one worker to drain and exit (SIGTERM: it stops like a single gateway does), and waits for it. */
  stop (member: FleetMember): Promise<void> {
    const state = this.#members.get(member)
    if (state !== undefined && !state.stopping) {
      state.stopping = true
      member.worker.process.kill('SIGTERM')
    }
    return member.exited
  }

  /**
   * Stops every worker; kills those still there `drain + STOP_GRACE_MS` later (a worker whose event loop is
   * stuck would otherwise hold the primary forever). Resolves true when all of them exited by themselves,
   * false when some had to be killed.
   */
  async stopAll (): Promise<boolean> {
    this.#closing = true
    for (const timer of this.#replacements) clearTimeout(timer)
    this.#replacements.clear()
    const members = [...this.#members.keys()]
    const deadlineMs = this.#config.config.timeouts.drain + STOP_GRACE_MS
    const deadline = setTimeout(() => {
      this.#log.error({ workerPids: [...this.#members.keys()].map((member) => member.pid), deadlineMs }, 'workers still running past the drain timeout: killing them')
      this.kill()
    }, deadlineMs)
    try {
      await Promise.all(members.map((member) => this.stop(member)))
    } finally {
      clearTimeout(deadline)
    }
    return !this.#killed
  }

  /** SIGKILL to every worker: the last resort of a second stop signal or of a missed deadline. */
  kill (): void {
    this.#closing = true
    this.#killed = true
    for (const member of this.#members.keys()) member.worker.process.kill('SIGKILL')
  }

  #exited (member: FleetMember, state: MemberState, how: { code: number | null, signal: NodeJS.Signals | null }): void {
    const fields = { worker: member.worker.id, workerPid: member.pid, ...how }
    if (state.stopping || this.#closing) {
      this.#log.info(fields, 'worker exited')
      return
    }
    if (member.reason === 'rolling restart' && !state.listening) {
      // The rolling restart that forked it stops there; the old workers keep serving (rolling-restart.ts).
      this.#log.error(fields, 'worker exited before listening')
      return
    }
    const verdict = this.#crashLoop.crashed(Date.now() - state.forkedAt)
    if ('giveUp' in verdict) {
      this.#log.fatal({ ...fields, earlyExits: verdict.earlyExits, windowMs: EARLY_EXIT_MS },
        'workers keep exiting right after they start: giving up (see the workers\' errors above)')
      this.#onCrashLoop()
      return
    }
    this.#log.warn({ ...fields, replaceInMs: verdict.replaceAfterMs, earlyExits: verdict.earlyExits }, 'worker exited unexpectedly: replacing it')
    const timer = setTimeout(() => {
      this.#replacements.delete(timer)
      if (!this.#closing) this.fork('replacement')
    }, verdict.replaceAfterMs)
    this.#replacements.add(timer)
  }
}
