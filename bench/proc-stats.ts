/** CPU time and resident memory of a child process, read from Linux /proc. */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

const FALLBACK_CLOCK_TICKS = 100
// Fields after "pid (comm) ", counted from 0: state is 0, utime 11, stime 12 (proc(5) fields 3, 14, 15).
const UTIME_INDEX = 11
const STIME_INDEX = 12

/** Clock ticks per second of /proc/<pid>/stat times (`getconf CLK_TCK`, usually 100). */
export function clockTicksPerSecond (): number {
  try {
    const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
    if (Number.isInteger(value) && value > 0) return value
  } catch {
    // getconf missing: Linux has used 100 on every common architecture.
  }
  return FALLBACK_CLOCK_TICKS
}

/** User + system CPU time of all the process's threads, in clock ticks. */
export function cpuTicks (pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // comm may hold spaces and parentheses; the fields start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[UTIME_INDEX]) + Number(fields[STIME_INDEX])
  if (!Number.isFinite(ticks)) throw new Error(`cannot read CPU time from /proc/${pid}/stat`)
  return ticks
}

/** Resident set size in bytes (VmRSS). */
export function rssBytes (pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)
  if (match?.[1] === undefined) throw new Error(`cannot read VmRSS from /proc/${pid}/status`)
  return Number(match[1]) * 1024
}
