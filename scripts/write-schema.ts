/** `npm run schema`: regenerates services.schema.json from src/config/schema.ts (a test fails on drift). */
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { EDITOR_SCHEMA_FILE, editorSchemaText } from '../src/config/editor-schema.js'

const target = fileURLToPath(new URL(`../../${EDITOR_SCHEMA_FILE}`, import.meta.url))
writeFileSync(target, editorSchemaText())
process.stdout.write(`wrote ${target}\n`)
