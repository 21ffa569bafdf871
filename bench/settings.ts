/** Bench knobs, read once from the environment. */
import { LOAD_GENERATOR_NAMES, type LoadGeneratorName } from './load-generator.js'

export interface BenchSettings {
  readonly connections: number
  readonly durationSeconds: number
  readonly rounds: number
  readonly warmupSeconds: number
  /** 'auto': wrk when it is on PATH, else autocannon. */
  readonly loadGenerator: LoadGeneratorName | 'auto'
}

const DEFAULT_CONNECTIONS = 50
const DEFAULT_DURATION_SECONDS = 5
const DEFAULT_ROUNDS = 3
const WARMUP_SECONDS = 1

export function readSettings (env: NodeJS.ProcessEnv = process.env): BenchSettings {
  return Object.freeze({
    connections: positiveInteger(env, 'BENCH_CONNECTIONS', DEFAULT_CONNECTIONS),
    durationSeconds: positiveInteger(env, 'BENCH_DURATION', DEFAULT_DURATION_SECONDS),
    rounds: positiveInteger(env, 'BENCH_ROUNDS', DEFAULT_ROUNDS),
    warmupSeconds: WARMUP_SECONDS,
    loadGenerator: loadGenerator(env)
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
