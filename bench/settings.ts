/** Bench knobs, read once from the environment. */
import { LOAD_GENERATOR_NAMES, type LoadGeneratorName } from './load-generator.js'
import { TARGET_NAMES, type TargetName } from './measure.js'

export interface BenchSettings {
  readonly connections: number
  readonly durationSeconds: number
  readonly rounds: number
  readonly warmupSeconds: number
  /** 'auto': wrk when it is on PATH, else autocannon. */
  readonly loadGenerator: LoadGeneratorName | 'auto'
  /** The targets to load, in TARGET_NAMES order; always with direct, whose process every proxy forwards to. */
  readonly targets: readonly TargetName[]
}

export interface SoakSettings {
  readonly seconds: number
  readonly intervalSeconds: number
  readonly connections: number
}

const DEFAULT_CONNECTIONS = 50
const DEFAULT_DURATION_SECONDS = 5
const DEFAULT_ROUNDS = 3
const WARMUP_SECONDS = 1
const DEFAULT_SOAK_SECONDS = 300
const SOAK_INTERVAL_SECONDS = 5
const SOAK_CONNECTIONS = 50

export function readSettings (env: NodeJS.ProcessEnv = process.env): BenchSettings {
  return Object.freeze({
    connections: positiveInteger(env, 'BENCH_CONNECTIONS', DEFAULT_CONNECTIONS),
    durationSeconds: positiveInteger(env, 'BENCH_DURATION', DEFAULT_DURATION_SECONDS),
    rounds: positiveInteger(env, 'BENCH_ROUNDS', DEFAULT_ROUNDS),
    warmupSeconds: WARMUP_SECONDS,
    loadGenerator: loadGenerator(env),
    targets: Object.freeze(targets(env))
  })
}

export function readSoakSettings (env: NodeJS.ProcessEnv = process.env): SoakSettings {
  return Object.freeze({
    seconds: positiveInteger(env, 'SOAK_SECONDS', DEFAULT_SOAK_SECONDS),
    intervalSeconds: SOAK_INTERVAL_SECONDS,
    connections: SOAK_CONNECTIONS
  })
}

function positiveInteger (env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name]
  if (text === undefined || text.trim() === '') return fallback
  const value = Number(text)
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`${name} must be a positive whole number, got "${text}" (unset it for the default ${fallback})`)
  }
  return value
}

function loadGenerator (env: NodeJS.ProcessEnv): LoadGeneratorName | 'auto' {
  const text = env.BENCH_LOAD_GENERATOR?.trim() ?? ''
  if (text === '' || text === 'auto') return 'auto'
  const name = LOAD_GENERATOR_NAMES.find((candidate) => candidate === text)
  if (name === undefined) {
    throw new Error(`BENCH_LOAD_GENERATOR must be ${LOAD_GENERATOR_NAMES.join(' or ')}, got "${text}" (unset it to use wrk when it is on PATH)`)
  }
  return name
}

/** BENCH_TARGETS=name,name,…: only those (and direct); unset or empty: all of them. */
function targets (env: NodeJS.ProcessEnv): TargetName[] {
  const names = (env.BENCH_TARGETS ?? '').split(',').map((name) => name.trim()).filter((name) => name !== '')
  if (names.length === 0) return [...TARGET_NAMES]
  const unknown = names.filter((name) => !TARGET_NAMES.some((target) => target === name))
  if (unknown.length > 0) {
    throw new Error(`BENCH_TARGETS: unknown target${unknown.length === 1 ? '' : 's'} ${unknown.map((name) => `"${name}"`).join(', ')}; ` +
      `the targets are ${TARGET_NAMES.join(', ')} (unset it to run them all)`)
  }
  return TARGET_NAMES.filter((target) => target === 'direct' || names.includes(target))
}
