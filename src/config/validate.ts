/**
 * Schema validation of a services.json value: every error at once, each with its JSON path and a hint.
 * Ajv's raw output for unions (`true` | `{...}`, URL string | `{ url }`) lists a failure per branch; we keep
 * only the branch that matches the value's JSON type, so a typo inside an object is reported as that typo.
 */
import { Ajv, type ErrorObject } from 'ajv'
import { ServicesFileSchema, type ServicesFile } from './schema.js'
import { nearestKey } from './nearest.js'
import { jsonPath, type ConfigProblem } from './problems.js'

// coerceTypes: numbers and booleans may be written as strings, so they can come from ${VAR} placeholders.
const validateFile = new Ajv({ allErrors: true, coerceTypes: true, verbose: true, strict: true }).compile<ServicesFile>(ServicesFileSchema)
// Ajv would also coerce `false`/`null` to 0 and `true` to 1 ("bodyLimit": false → every body refused):
// a pass without coercion finds those before the coercing pass changes them.
const validateWithoutCoercion = new Ajv({ allErrors: true, verbose: true, strict: true }).compile(ServicesFileSchema)

export interface ValidationResult {
  readonly file?: ServicesFile
  readonly problems: ConfigProblem[]
}

export function validateServicesFile (data: unknown): ValidationResult {
  const miscoerced = validateWithoutCoercion(data) ? [] : (validateWithoutCoercion.errors ?? []).filter(isSilentCoercion)
  if (validateFile(data) && miscoerced.length === 0) return { file: data, problems: [] }
  // What the coercing pass says about a value it coerced (null → 0 "must be >= 1") is noise next to the cause.
  const coercedAt = new Set(miscoerced.map((error) => error.instancePath))
  const rest = (validateFile.errors ?? []).filter((error) => !coercedAt.has(error.instancePath))
  return { problems: describeErrors([...miscoerced, ...rest]) }
}

/** A boolean or null where a number or string is expected (not a union branch of the wrong shape). */
function isSilentCoercion (error: ErrorObject): boolean {
  return error.keyword === 'type' && (typeof error.data === 'boolean' || error.data === null) &&
    !/\/anyOf\/\d+\/type$/.test(error.schemaPath)
}

function describeErrors (errors: readonly ErrorObject[]): ConfigProblem[] {
  const dropped = dropUnmatchedUnionBranches(errors)
  const seen = new Set<string>()
  const problems: ConfigProblem[] = []
  for (const error of errors) {
    if (dropped.has(error)) continue
    const problem = describeError(error)
    const key = `${problem.path}\u0000${problem.message}`
    if (seen.has(key)) continue
    seen.add(key)
    problems.push(problem)
  }
  return problems
}

/**
 * For every failed `anyOf`, branches whose own `type`/`const` check failed at the union's location are
 * the "wrong shape" branches: drop their errors. If some branch had the right shape, its errors say what is
 * wrong and the bare anyOf error is dropped too; otherwise the anyOf error stays as "must be X or Y".
 */
function dropUnmatchedUnionBranches (errors: readonly ErrorObject[]): Set<ErrorObject> {
  const dropped = new Set<ErrorObject>()
  const unions = errors.filter((error) => error.keyword === 'anyOf')
    .sort((a, b) => a.schemaPath.length - b.schemaPath.length)
  for (const union of unions) {
    if (dropped.has(union)) continue
    const branchCount = Array.isArray(union.schema) ? union.schema.length : 0
    let matchingBranches = 0
    for (let branch = 0; branch < branchCount; branch++) {
      const branchPath = `${union.schemaPath}/${branch}/`
      const branchErrors = errors.filter((error) => error.schemaPath.startsWith(branchPath) &&
        isWithinPointer(error.instancePath, union.instancePath))
      const wrongShape = branchErrors.some((error) =>
        error.instancePath === union.instancePath &&
        (error.schemaPath === `${branchPath}type` || error.schemaPath === `${branchPath}const`))
      if (wrongShape) branchErrors.forEach((error) => dropped.add(error))
      else matchingBranches++
    }
    if (matchingBranches > 0) dropped.add(union)
  }
  return dropped
}

function describeError (error: ErrorObject): ConfigProblem {
  const at = pointerSegments(error.instancePath)
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String(error.params.additionalProperty)
      const known = Object.keys((error.parentSchema?.properties ?? {}) as Record<string, unknown>)
      const nearest = nearestKey(key, known)
      return {
        path: jsonPath([...at, key]),
        message: `unknown key "${key}"`,
        hint: nearest ? `did you mean "${nearest}"?` : `valid keys: ${known.join(', ')}`
      }
    }
    case 'required':
      return { path: jsonPath([...at, String(error.params.missingProperty)]), message: 'is required' }
    case 'const':
      return { path: jsonPath(at), message: `must be ${JSON.stringify(error.params.allowedValue)}` }
    case 'anyOf':
      return { path: jsonPath(at), message: `must be ${describeUnion(error.schema)}` }
    case 'pattern': {
      const description = typeof error.parentSchema?.description === 'string' ? error.parentSchema.description : undefined
      return {
        path: jsonPath(at),
        message: `${JSON.stringify(error.data)} is not in the expected form`,
        ...(description ? { hint: description } : {})
      }
    }
    default:
      return { path: jsonPath(at), message: error.message ?? 'is invalid' }
  }
}

function describeUnion (branches: unknown): string {
  if (!Array.isArray(branches)) return 'a valid value'
  const constants = branches.map((branch: { const?: unknown }) => branch.const).filter((value) => value !== undefined)
  if (constants.length === branches.length) return `one of ${constants.map((value) => JSON.stringify(value)).join(', ')}`
  const types = branches.map((branch: { type?: unknown }) => typeof branch.type === 'string' ? `${article(branch.type)} ${branch.type}` : 'a value')
  return [...new Set(types)].join(' or ')
}

function article (type: string): string {
  return /^[aeiou]/.test(type) ? 'an' : 'a'
}

function isWithinPointer (pointer: string, parent: string): boolean {
  return pointer === parent || pointer.startsWith(`${parent}/`)
}

function pointerSegments (pointer: string): Array<string | number> {
  if (pointer === '') return []
  return pointer.slice(1).split('/').map((raw) => {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    return /^(0|[1-9]\d*)$/.test(segment) ? Number(segment) : segment
  })
}
