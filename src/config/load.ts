/**
 * read → parse → ${VAR} substitution → validate (every error, with paths; in a worker thread, see
 * validate-isolated.ts) → cross-checks → defaults → freeze
 */
import { readFile } from 'node:fs/promises'
import { dirname, resolve as resolvePath } from 'node:path'
import { ConfigInvalidError } from '../errors.js'
import { substituteEnv, type Environment } from './env.js'
import { validateIsolated } from './validate-isolated.js'
import { checkSemantics } from './semantics.js'
import { resolveConfig } from './resolve.js'
import type { GatewayConfig } from './types.js'

export interface ParseOptions {
  /** Directory that relative paths in the config are resolved against (default: the working directory). */
  readonly baseDir?: string
  /** Absolute path of the file, for messages. */
  readonly source?: string | null
  readonly env?: Environment
}

/** Loads services.json from disk. Throws ConfigInvalidError listing every problem. */
export async function loadConfig (path: string, env: Environment = process.env): Promise<GatewayConfig> {
  const { source, raw } = await readServicesFile(path)
  return parseConfig(raw, { baseDir: dirname(source), source, env })
}

/** services.json's absolute path and parsed JSON; a missing, unreadable or non-JSON file is a ConfigInvalidError. */
export async function readServicesFile (path: string): Promise<{ source: string, raw: unknown }> {
  const source = resolvePath(path)
  let text: string
  try {
    text = await readFile(source, 'utf8')
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'the file does not exist' : 'the file cannot be read'
    throw new ConfigInvalidError(source, [{ path: '(file)', message: reason, hint: 'pass the path with --config' }])
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    throw new ConfigInvalidError(source, [{ path: '(file)', message: `not valid JSON: ${(error as Error).message}` }])
  }
  return { source, raw }
}

/** Validates an already-parsed services.json value (for programmatic use and tests). */
export async function parseConfig (raw: unknown, options: ParseOptions = {}): Promise<GatewayConfig> {
  const source = options.source ?? null
  const label = source ?? 'services.json'
  const substituted = substituteEnv(raw, options.env ?? process.env)
  const validated = await validateIsolated(substituted.value)
  // A value whose placeholder could not be filled fails its schema check too; report the cause only.
  const unfilled = new Set(substituted.problems.map((problem) => problem.path))
  const problems = [...substituted.problems, ...validated.problems.filter((problem) => !unfilled.has(problem.path))]
  if (!validated.file || problems.length > 0) throw new ConfigInvalidError(label, problems)
  const semanticProblems = checkSemantics(validated.file)
  if (semanticProblems.length > 0) throw new ConfigInvalidError(label, semanticProblems)
  const resolved = await resolveConfig(validated.file, { baseDir: options.baseDir ?? process.cwd(), source })
  if (!resolved.config) throw new ConfigInvalidError(label, resolved.problems)
  return resolved.config
}
