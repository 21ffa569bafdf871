/**
 * Which CPUs the bench's processes run on. Issue 6 sets its targets "on one core": every proxy (the Node
 * servers with all their threads, and nginx) gets one CPU of its own, and the backend, the load generator and
 * the runner share the others. Unpinned, the scheduler moves every process across every core, so a proxy's
 * req/s also depends on how its threads happen to interleave with wrk's and the backend's. The `direct`
 * target is the backend itself, so it shares its CPUs with wrk.
 *
 * Needs Linux, `taskset` (util-linux) on PATH and at least two allowed CPUs; otherwise, or with
 * BENCH_PIN=off, nothing is pinned and the report says so.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { findOnPath } from './load-generator.js'

/** Some CPUs, and the taskset that puts a process on them. */
export interface CpuSet {
  /** `taskset -c` syntax, e.g. "1" or "0,2-3". */
  readonly list: string
  readonly taskset: string
}

export interface CpuAffinity {
  /** Every proxy. */
  readonly target: CpuSet
  /** Everything else: the backend, the load generator, the runner. */
  readonly support: CpuSet
}

/** A command and its arguments, as spawn takes them. */
export interface Command {
  readonly command: string
  readonly args: readonly string[]
}

/**
 * The CPUs this process may run on, from /proc/self/status (`Cpus_allowed_list: 0-3,8`), so a container's
 * cpuset is respected; undefined where there is no such file.
 */
export function allowedCpus (statusText?: string): number[] | undefined {
  let text = statusText
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/status', 'utf8')
    } catch {
      return undefined
    }
  }
  const list = /^Cpus_allowed_list:\s*(\S+)\s*$/m.exec(text)?.[1]
  if (list === undefined) return undefined
  return list.split(',').flatMap((range) => {
    const [first, last = first] = range.split('-').map(Number)
    if (first === undefined || last === undefined || !Number.isInteger(first) || !Number.isInteger(last)) return []
    return Array.from({ length: last - first + 1 }, (_, index) => first + index)
  })
}

/** What placement needs from the machine; null where it does not have it. */
export interface Machine {
  readonly cpus: readonly number[] | null
  readonly taskset: string | null
}

export function thisMachine (): Machine {
  return { cpus: allowedCpus() ?? null, taskset: findOnPath('taskset') ?? null }
}

/** The plan for this run, or why there is none (shown in the report). */
export function planAffinity (env: NodeJS.ProcessEnv = process.env, machine: Machine = thisMachine()):
  { affinity: CpuAffinity } | { reason: string } {
  const { cpus, taskset } = machine
  const setting = env.BENCH_PIN?.trim() ?? ''
  if (setting === 'off') return { reason: 'BENCH_PIN=off' }
  if (setting !== '' && setting !== 'auto') throw new Error(`BENCH_PIN must be auto or off, got "${setting}" (unset it for auto)`)
  if (cpus === null) return { reason: 'no /proc/self/status Cpus_allowed_list (not Linux?)' }
  if (cpus.length < 2) return { reason: `only ${cpus.length} CPU allowed` }
  if (taskset === null) return { reason: 'taskset is not on PATH (Debian/Ubuntu: apt-get install util-linux)' }
  // The last CPU for the target: CPU 0 takes more of the machine's interrupts.
  const target = cpus[cpus.length - 1]!
  return { affinity: { target: { list: String(target), taskset }, support: { list: cpus.slice(0, -1).join(','), taskset } } }
}

/** The command run through `taskset -c <list>`, which execs it: the pid spawn returns is the command's own. */
export function pinned (command: Command, cpus: CpuSet | undefined): Command {
  if (cpus === undefined) return command
  return { command: cpus.taskset, args: ['-c', cpus.list, command.command, ...command.args] }
}

/** Moves every thread of this process (the runner, and autocannon when it loads from here) onto `cpus`. */
function pinThisProcess (cpus: CpuSet | undefined): void {
  if (cpus === undefined) return
  execFileSync(cpus.taskset, ['-a', '-p', '-c', cpus.list, String(process.pid)], { stdio: 'ignore' })
}

/**
 * What a bench run does first: plan the placement, move the runner onto the support CPUs, and say where
 * everything runs (`affinity` undefined: nothing is pinned).
 */
export function placeThisRun (): { affinity: CpuAffinity | undefined, placement: string } {
  const plan = planAffinity()
  const affinity = 'affinity' in plan ? plan.affinity : undefined
  pinThisProcess(affinity?.support)
  return { affinity, placement: describeAffinity(plan) }
}

/** One line for the report header. */
export function describeAffinity (plan: { affinity: CpuAffinity } | { reason: string }): string {
  if ('reason' in plan) return `CPUs: not pinned (${plan.reason}); every process may run on every CPU`
  const { target, support } = plan.affinity
  return `CPUs: every proxy on CPU ${target.list}; the backend, the load generator and the runner on CPU ${support.list} ` +
    '(taskset; BENCH_PIN=off leaves placement to the scheduler)'
}
