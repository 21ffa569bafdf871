/**
 * The editor schema (services.schema.json) generated from the one schema in schema.ts. Numbers and
 * booleans, and strings with a required form or length, may also be written with a `${VAR}` placeholder
 * (substituted before validation), so the editor schema accepts a placeholder string there too.
 */
import { ServicesFileSchema } from './schema.js'

export const EDITOR_SCHEMA_FILE = 'services.schema.json'

const PLACEHOLDER_STRING = { type: 'string', pattern: '\\$\\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\\}' }

export function editorSchemaText (): string {
  const schema = { $schema: 'http://json-schema.org/draft-07/schema#', ...acceptPlaceholders(ServicesFileSchema) as object }
  return `${JSON.stringify(schema, null, 2)}\n`
}

function acceptPlaceholders (node: unknown): unknown {
  if (Array.isArray(node)) return node.map(acceptPlaceholders)
  if (node === null || typeof node !== 'object') return node
  const copy: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(node)) copy[key] = acceptPlaceholders(value)
  const constrained = copy.type === 'integer' || copy.type === 'number' || copy.type === 'boolean' ||
    'const' in copy || 'pattern' in copy || (typeof copy.minLength === 'number' && copy.minLength > 1)
  if (constrained) {
    const { description, default: fallback, ...value } = copy
    return { ...(description === undefined ? {} : { description }), ...(fallback === undefined ? {} : { default: fallback }), anyOf: [value, PLACEHOLDER_STRING] }
  }
  return copy
}
