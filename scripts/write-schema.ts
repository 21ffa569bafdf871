/**
 * `npm run schema`: regenerates services.schema.json and README.md's services.json reference from
 * src/config/schema.ts (tests fail when either drifts).
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { EDITOR_SCHEMA_FILE, editorSchemaText } from '../src/config/editor-schema.js'
import { withReference } from '../src/config/reference.js'

const root = new URL('../../', import.meta.url)
const schemaPath = fileURLToPath(new URL(EDITOR_SCHEMA_FILE, root))
writeFileSync(schemaPath, editorSchemaText())
const readmePath = fileURLToPath(new URL('README.md', root))
writeFileSync(readmePath, withReference(readFileSync(readmePath, 'utf8')))
process.stdout.write(`wrote ${schemaPath} and the reference in ${readmePath}\n`)
