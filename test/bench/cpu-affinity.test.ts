import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { describe, it, expect } from 'vitest'
import { allowedCpus, describeAffinity, pinned, planAffinity } from '../../bench/cpu-affinity.js'
import { findOnPath } from '../../bench/load-generator.js'

const TASKSET = '/usr/bin/taskset'

/** Cpus_allowed_list of a process started with `command`, read by the process itself. */
async function allowedListOf (command: { command: string, args: readonly string[] }): Promise<string> {
  const child = spawn(command.command, command.args, { stdio: ['ignore', 'pipe', 'inherit'] })
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  const [code] = await once(child, 'close') as [number | null]
  expect(code).toBe(0)
  return /^Cpus_allowed_list:\s*(\S+)$/m.exec(output)?.[1] ?? ''
}

describe('bench CPU placement', () => {
  it('reads the allowed CPUs in /proc list syntax', () => {
    expect(allowedCpus('Name:\tnode\nCpus_allowed_list:\t0-1\n')).toEqual([0, 1])
    expect(allowedCpus('Cpus_allowed_list:\t0,2-4,7\n')).toEqual([0, 2, 3, 4, 7])
    expect(allowedCpus('Cpus_allowed_list:\t3\n')).toEqual([3])
    expect(allowedCpus('Name:\tnode\n')).toBeUndefined()
  })

  it('gives the proxies the last CPU and everything else the rest', () => {
    const plan = planAffinity({}, { cpus: [0, 2, 3, 4, 7], taskset: TASKSET })
    expect(plan).toEqual({
      affinity: { target: { list: '7', taskset: TASKSET }, support: { list: '0,2,3,4', taskset: TASKSET } }
    })
    expect(describeAffinity(plan)).toContain('every proxy on CPU 7')
  })

  it('does not pin outside Linux, with one CPU, without taskset, or when told not to, and says why', () => {
    expect(planAffinity({}, { cpus: null, taskset: TASKSET })).toEqual({ reason: expect.stringContaining('Cpus_allowed_list') })
    expect(planAffinity({}, { cpus: [0], taskset: TASKSET })).toEqual({ reason: 'only 1 CPU allowed' })
    expect(planAffinity({}, { cpus: [0, 1], taskset: null })).toEqual({ reason: expect.stringContaining('taskset is not on PATH') })
    expect(planAffinity({ BENCH_PIN: 'off' }, { cpus: [0, 1], taskset: TASKSET })).toEqual({ reason: 'BENCH_PIN=off' })
    expect(describeAffinity({ reason: 'BENCH_PIN=off' })).toContain('not pinned (BENCH_PIN=off)')
    expect(() => planAffinity({ BENCH_PIN: 'yes' }, { cpus: [0, 1], taskset: TASKSET })).toThrow('BENCH_PIN must be auto or off, got "yes"')
  })

  it('leaves a command alone without CPUs', () => {
    expect(pinned({ command: 'wrk', args: ['-t1'] }, undefined)).toEqual({ command: 'wrk', args: ['-t1'] })
  })

  const taskset = findOnPath('taskset')
  const cpus = allowedCpus()
  it.skipIf(taskset === undefined || cpus === undefined)('runs a pinned command on the CPU it names (real taskset)', async () => {
    const cpu = String(cpus?.at(-1))
    const command = pinned({ command: 'cat', args: ['/proc/self/status'] }, { list: cpu, taskset: taskset ?? '' })
    expect(command.command).toBe(taskset)
    expect(await allowedListOf(command)).toBe(cpu)
  })
})
