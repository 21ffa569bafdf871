/**
 * `${VAR}` and `${VAR:-default}` placeholders in string values, substituted from the environment before
 * validation so secrets and addresses stay out of services.json (issue 2). Substitution works on parsed
 * JSON string values, never on the raw text, so a value can never break the JSON around it.
 */
import { jsonPath, type ConfigProblem } from './problems.js'

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g

export type Environment = Readonly<Record<string, string | undefined>>

export function substituteEnv (value: unknown, env: Environment): { value: unknown, problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = []
  const substituted = walk(value, [], env, problems)
  return { value: substituted, problems }
}

function walk (value: unknown, at: Array<string | number>, env: Environment, problems: ConfigProblem[]): unknown {
  if (typeof value === 'string') return substituteString(value, at, env, problems)
  if (Array.isArray(value)) return value.map((item, index) => walk(item, [...at, index], env, problems))
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) out[key] = walk(item, [...at, key], env, problems)
    return out
  }
  return value
}

function substituteString (text: string, at: Array<string | number>, env: Environment, problems: ConfigProblem[]): string {
  if (!text.includes('${')) return text
  return text.replace(PLACEHOLDER, (_match, name: string, fallback: string | undefined) => {
    const set = env[name]
    // Shell semantics: `:-` applies the default when the variable is unset or empty.
    if (fallback !== undefined) return set === undefined || set === '' ? fallback : set
    if (set !== undefined) return set
    problems.push({
      path: jsonPath(at),
      message: `environment variable ${name} is not set`,
      hint: `set ${name}, or give a default with \${${name}:-value}`
    })
    return ''
  })
}
